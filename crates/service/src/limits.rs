//! The limits the server enforces, in one place (documented in docs/SERVICE.md).

/// The server's sled cache, shared evenly between its ledgers, unless
/// `serve --cache-mib` says otherwise: the server keeps this much of its
/// ledgers' entries and Merkle nodes decoded, so that feeds and reads
/// seldom go back to the log on disk. (The CLI's own commands keep
/// `ledger_store::DEFAULT_CACHE_BYTES`.)
pub const CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// The least sled cache a hosted ledger gets, however many share the
/// server's: sled's own floor for a useful cache.
pub const MIN_CACHE_BYTES: u64 = 1024 * 1024;

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

/// ... and stops a chunk once it holds this many bytes of entries, so that
/// a subscriber holds at most two chunks (the one being sent and the one
/// read ahead) beside its outbox ([`Limits::feed_bytes`]).
pub const FEED_CHUNK_BYTES: usize = 256 * 1024;

/// HTTP/2 streams (concurrent calls, feeds included) per connection.
pub const STREAMS_PER_CONNECTION: u32 = 128;

/// Calls served at once per connection; more wait.
pub const CALLS_PER_CONNECTION: usize = 128;

/// Appends one `AppendStream` call may carry. The next event is refused
/// before it is appended (RESOURCE_EXHAUSTED), so that the response, one
/// receipt an event, always fits [`MAX_RESPONSE`].
pub const STREAM_EVENTS: usize = 4096;

/// The longest error message sent, in bytes: a refusal quotes at most a
/// short prefix of what it was sent (`review::ids::quoted`), and a longer
/// message is cut here.
pub const MESSAGE_BYTES: usize = 1024;

/// The limits an operator may set on `serve`, with their defaults
/// (documented in docs/SERVICE.md, "Limits").
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections open at once; more are closed as soon as they are
    /// accepted. Keep it below the process's open-files limit.
    pub connections: usize,
    /// A connection that sends nothing for this long is closed. The server
    /// pings every connection at a third of it, so a live client always
    /// answers within it.
    pub idle: std::time::Duration,
    /// Threads that run auditors' calls (whole-ledger verification,
    /// bundles, whole-review reads), apart from the writers and the feeds.
    pub audit_threads: usize,
    /// Auditors' calls running or waiting, on the whole server; more are
    /// refused with RESOURCE_EXHAUSTED.
    pub audit_queue: usize,
    /// The same, per ledger.
    pub audit_queue_per_ledger: usize,
    /// Feeds open at once on the whole server.
    pub feeds: usize,
    /// Feeds open at once on one ledger.
    pub feeds_per_ledger: usize,
    /// Feeds open at once on one connection.
    pub feeds_per_connection: usize,
    /// Bytes of feed messages waiting for one subscriber; a subscriber that
    /// leaves them unread for [`Limits::feed_stall`] is dropped.
    pub feed_bytes: usize,
    /// How long a subscriber may leave its feed full before the feed ends
    /// with UNAVAILABLE (it resumes from the entry after its last one).
    pub feed_stall: std::time::Duration,
    /// How long `serve` waits, once told to stop, for calls in flight
    /// before it closes their connections. Appends handed to a writer
    /// complete durably either way.
    pub grace: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Limits {
            connections: 512,
            idle: std::time::Duration::from_secs(60),
            // One core is left to the writers, the feeds and the runtime.
            audit_threads: cores.saturating_sub(1).max(1),
            audit_queue: 32,
            audit_queue_per_ledger: 8,
            feeds: 256,
            feeds_per_ledger: 128,
            feeds_per_connection: 16,
            feed_bytes: 1 << 20,
            feed_stall: std::time::Duration::from_secs(60),
            grace: std::time::Duration::from_secs(10),
        }
    }
}
