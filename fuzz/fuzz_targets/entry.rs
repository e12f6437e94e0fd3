//! Stored entries, submitted events and checkpoint notes from arbitrary
//! bytes: every decoder refuses or accepts, and never panics.
#![no_main]

use ledger_core::{Checkpoint, Entry, KeyPair, SignedEvent, VerifiedEntry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = Entry::decode(data) {
        // What decodes re-encodes to the same bytes.
        assert_eq!(entry.encode(), data);
    }
    let _ = VerifiedEntry::from_bytes(data);
    if let Ok(signed) = SignedEvent::decode(data) {
        let _ = signed.verify();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Checkpoint::verify(text, &KeyPair::from_seed([7; 32]).public());
    }
});
