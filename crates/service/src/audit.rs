//! Auditors' calls: whole-ledger verification, bundles and whole-review
//! reads. Each costs a pass over the ledger, so they run a few at a time on
//! threads of their own, under a queue limit per ledger and per server, and
//! they stop at the next chunk read once their caller has gone (cancelled,
//! or past its deadline) or the server is stopping. Appends and feeds never
//! wait for them, and do not compete with them for the cores on equal
//! terms: the auditors' threads, the threads they start, and the process's
//! rayon pool (where a verification checks its entries in parallel) run at
//! a lower scheduling priority ([`AUDIT_NICE`]) than the writers and the
//! async runtime.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use ledger_core::{EventId, Hash, LedgerId, Seq};
use ledger_store::{Batch, Head, Store, StoreError};
use tokio::sync::{Semaphore, oneshot};
use tonic::Status;

use crate::limits::Limits;
use crate::load::{Scope, Seats};

/// Why a long call should stop now: its caller went away, or the server
/// is stopping.
#[derive(Clone, Debug)]
pub struct Stop {
    caller_gone: Arc<AtomicBool>,
    server_stopping: Arc<AtomicBool>,
}

impl Stop {
    /// An error once the call should stop.
    pub fn check(&self) -> Result<(), StoreError> {
        if self.server_stopping.load(Ordering::Relaxed) {
            Err(StoreError::Cancelled("the server is stopping"))
        } else if self.caller_gone.load(Ordering::Relaxed) {
            Err(StoreError::Cancelled("the caller went away"))
        } else {
            Ok(())
        }
    }
}

/// Sets its flag when dropped: the handler's future holds it, so a client
/// that cancels, or a deadline that passes, stops the work.
struct OnDrop(Arc<AtomicBool>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The nice value of the auditors' threads: the scheduler gives a thread at
/// nice 0 (a writer, the runtime) about nine times their share of a busy core.
pub const AUDIT_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`AUDIT_NICE`]
/// (Linux keeps the nice value per thread, and a thread's new threads
/// inherit it). Best effort: where the system refuses, the thread runs on
/// at its priority.
pub fn lower_priority() {
    let _ = rustix::process::setpriority_process(None, AUDIT_NICE);
}

/// Builds the process's rayon pool with its threads at [`AUDIT_NICE`], so
/// that a verification's parallel checks yield to the writers. Call it
/// before anything uses rayon; false if the pool was already built.
pub fn lower_rayon_priority() -> bool {
    rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("rayon-{i}"))
        .start_handler(|_| lower_priority())
        .build_global()
        .is_ok()
}

type Job = Box<dyn FnOnce() + Send>;

/// The pool the auditors' calls run in.
pub struct Auditors {
    jobs: mpsc::Sender<Job>,
    running: Arc<Semaphore>,
    seats: Arc<Seats>,
    queue: usize,
    queue_per_ledger: usize,
    stopping: Arc<AtomicBool>,
}

impl Auditors {
    /// The pool, under `limits`: its threads start at once and end when it
    /// is dropped.
    pub fn new(limits: &Limits) -> Auditors {
        let threads = limits.audit_threads.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let mut started = 0;
        for i in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("auditor-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            // A job that panics loses its answer (its caller
                            // hears INTERNAL), not the thread.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
            // The pool runs with the threads that did start.
            started += usize::from(spawned.is_ok());
        }
        let running = Semaphore::new(started);
        if started == 0 {
            // Nothing could run an auditor's call: refuse them all.
            running.close();
        }
        Auditors {
            jobs,
            running: Arc::new(running),
            seats: Seats::new(),
            queue: limits.audit_queue.max(1),
            queue_per_ledger: limits.audit_queue_per_ledger.max(1),
            stopping: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Stops every call running or waiting, at its next read.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        self.running.close();
    }

    /// Calls running or waiting on the whole server.
    pub fn in_flight(&self) -> usize {
        self.seats.count(Scope::Server)
    }

    /// Runs `work` for ledger `ledger` once a thread is free, or refuses at
    /// once with RESOURCE_EXHAUSTED when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        ledger: LedgerId,
        work: impl FnOnce(&Stop) -> Result<T, Status> + Send + 'static,
    ) -> Result<T, Status> {
        let seat = self
            .seats
            .take(&[
                (Scope::Server, self.queue),
                (Scope::Ledger(ledger), self.queue_per_ledger),
            ])
            .map_err(|(scope, limit)| {
                Status::resource_exhausted(format!(
                    "{limit} auditors' calls are already running or waiting on {scope}; try again later"
                ))
            })?;
        let caller_gone = Arc::new(AtomicBool::new(false));
        let _on_drop = OnDrop(caller_gone.clone());
        let stop = Stop {
            caller_gone,
            server_stopping: self.stopping.clone(),
        };
        // Waiting here costs nothing: a caller that goes away while queued
        // never starts.
        let permit =
            self.running.clone().acquire_owned().await.map_err(|_| {
                Status::unavailable("the server is stopping, or has no auditor thread")
            })?;
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _held = (seat, permit);
            let result = stop.check().map_err(stopped).and_then(|()| work(&stop));
            let _ = answer.send(result);
        });
        self.jobs
            .send(job)
            .map_err(|_| Status::unavailable("the auditors' pool has stopped"))?;
        answered
            .await
            .map_err(|_| Status::internal("an auditor's call failed"))?
    }
}

/// The status of a call stopped by [`Stop`]: only a server that is stopping
/// leaves a caller to hear it.
pub fn stopped(e: StoreError) -> Status {
    Status::unavailable(e.to_string())
}

/// A store whose reads fail once its call should stop, so that a long
/// pass over the ledger ends at its next chunk.
pub struct Stoppable<S> {
    /// The store read.
    pub inner: S,
    /// When to stop.
    pub stop: Stop,
}

impl<S: Store> Store for Stoppable<S> {
    fn head(&self) -> ledger_store::Result<Head> {
        self.inner.head()
    }

    fn entry(&self, seq: Seq) -> ledger_store::Result<Option<Vec<u8>>> {
        self.stop.check()?;
        self.inner.entry(seq)
    }

    fn range(&self, start: Seq, limit: usize) -> ledger_store::Result<Vec<(Seq, Vec<u8>)>> {
        self.stop.check()?;
        self.inner.range(start, limit)
    }

    fn seq_of(&self, id: &EventId) -> ledger_store::Result<Option<Seq>> {
        self.inner.seq_of(id)
    }

    fn node(&self, level: u32, index: u64) -> ledger_store::Result<Option<Hash>> {
        self.inner.node(level, index)
    }

    fn keeps_nodes(&self) -> bool {
        self.inner.keeps_nodes()
    }

    fn derived_counts(&self) -> ledger_store::Result<Option<(u64, u64)>> {
        self.stop.check()?;
        self.inner.derived_counts()
    }

    fn checkpoint(&self) -> ledger_store::Result<Option<String>> {
        self.inner.checkpoint()
    }

    fn snapshot(&self) -> ledger_store::Result<Option<Vec<u8>>> {
        self.stop.check()?;
        self.inner.snapshot()
    }

    fn witness(&self) -> ledger_store::Result<Option<String>> {
        self.inner.witness()
    }

    fn append(&self, batch: &Batch) -> ledger_store::Result<()> {
        self.inner.append(batch)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::oneshot;

    use super::*;

    fn pool(threads: usize, queue: usize) -> Auditors {
        Auditors::new(&Limits {
            audit_threads: threads,
            audit_queue: queue,
            audit_queue_per_ledger: queue,
            ..Limits::default()
        })
    }

    /// Waits for `rx` at most a minute: a guard against hanging, not a speed limit.
    async fn within<T>(rx: oneshot::Receiver<T>) -> T {
        tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .expect("in time")
            .expect("sent")
    }

    #[tokio::test]
    async fn a_running_call_stops_when_its_caller_goes_and_frees_its_place() {
        let auditors = Arc::new(pool(1, 1));
        let ledger = LedgerId::default();
        let (started_tx, started) = oneshot::channel();
        let (stopped_tx, stopped) = oneshot::channel();
        let caller = tokio::spawn({
            let auditors = auditors.clone();
            async move {
                auditors
                    .run(ledger, move |stop| {
                        let _ = started_tx.send(());
                        // A long pass over the ledger, reading until told to stop.
                        while stop.check().is_ok() {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        let _ = stopped_tx.send(stop.check().unwrap_err().to_string());
                        Ok(())
                    })
                    .await
            }
        });
        within(started).await;
        // The queue of one is full while it runs.
        let refused = auditors.run(ledger, |_| Ok(())).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        caller.abort();
        assert_eq!(within(stopped).await, "stopped: the caller went away");
        // Its place is free once the work has returned.
        let mut taken = false;
        for _ in 0..1000 {
            if auditors.in_flight() == 0 {
                taken = auditors.run(ledger, |_| Ok(())).await.is_ok();
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(taken);
    }

    #[tokio::test]
    async fn a_waiting_call_whose_caller_goes_never_starts() {
        let auditors = Arc::new(pool(1, 4));
        let ledger = LedgerId::default();
        let (started_tx, started) = oneshot::channel();
        let (release_tx, release) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let auditors = auditors.clone();
            async move {
                auditors
                    .run(ledger, move |_| {
                        let _ = started_tx.send(());
                        let _ = release.recv();
                        Ok(())
                    })
                    .await
            }
        });
        within(started).await;
        let ran = Arc::new(AtomicBool::new(false));
        let waiting = tokio::spawn({
            let (auditors, ran) = (auditors.clone(), ran.clone());
            async move {
                auditors
                    .run(ledger, move |_| {
                        ran.store(true, Ordering::SeqCst);
                        Ok(())
                    })
                    .await
            }
        });
        tokio::task::yield_now().await;
        waiting.abort();
        let _ = waiting.await;
        release_tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        // Nothing else is queued: the next call runs at once.
        auditors.run(ledger, |_| Ok(())).await.unwrap();
        assert!(!ran.load(Ordering::SeqCst), "an abandoned call ran");
    }

    #[tokio::test]
    async fn a_stopping_server_refuses_and_stops_reads() {
        let auditors = pool(1, 4);
        auditors.stop();
        let refused = auditors
            .run(LedgerId::default(), |_| Ok(()))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unavailable);
        let stop = Stop {
            caller_gone: Arc::new(AtomicBool::new(false)),
            server_stopping: auditors.stopping.clone(),
        };
        assert!(matches!(stop.check(), Err(StoreError::Cancelled(_))));
    }
}
