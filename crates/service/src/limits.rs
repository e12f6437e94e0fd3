//! The limits the server enforces, in one place (documented in docs/SERVICE.md).

/// The sled cache of each hosted ledger unless `serve --cache-mib` says
/// otherwise: the server keeps this much of a ledger's entries and Merkle
/// nodes decoded, so that feeds and reads seldom go back to the log on disk.
/// (The CLI's own commands keep `ledger_store::DEFAULT_CACHE_BYTES`.)
pub const CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// The largest request message accepted: one signed event is at most
/// 65 KiB + 1 KiB ([`ledger_core::SignedEvent::MAX_LEN`]), plus framing.
pub const MAX_REQUEST: usize = 128 * 1024;

/// The largest response message sent: reads stop adding entries past
/// [`READ_BYTES`], and one entry is at most 65 KiB + 1,152 B.
pub const MAX_RESPONSE: usize = 8 * 1024 * 1024;

/// A `ReadRange` returns at most this many entries.
pub const READ_ENTRIES: usize = 1024;

/// A read stops adding entries once it holds this many bytes of entries.
pub const READ_BYTES: usize = 4 * 1024 * 1024;

/// The feed reads the store this many entries at a time.
pub const FEED_CHUNK: usize = 256;

/// Feed messages buffered per subscriber. A subscriber that stops reading
/// holds at most this many, the chunk being sent and one chunk read ahead
/// ([`FEED_CHUNK`] each); the rest stays in the store until it reads on.
pub const FEED_BUFFER: usize = 256;

/// HTTP/2 streams (concurrent calls, feeds included) per connection.
pub const STREAMS_PER_CONNECTION: u32 = 128;

/// Calls served at once per connection; more wait.
pub const CALLS_PER_CONNECTION: usize = 128;
