//! End-to-end tests: the real `review-ledger` binary and the real store on
//! disk in temporary directories. No component of ours is mocked.

mod as_at;
mod bundles;
mod cli;
mod console;
mod crash;
mod derived;
mod discovery;
mod disk_full;
mod failover;
mod hostile;
mod mounts;
mod passkeys;
mod readme;
mod readonly;
mod record;
mod refusals;
mod remote;
mod remote_audit;
mod retry;
mod review;
mod service;
mod slow_feed;
mod snapshots;
mod stores;
mod tamper;
mod trust;
mod verified_cache;
mod webhook;
