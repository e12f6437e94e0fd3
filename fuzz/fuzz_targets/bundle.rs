//! Evidence bundles from arbitrary bytes: decoding and offline verification
//! refuse or accept, never panic and never allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use review::Date;
use review::bundle::{self, Bundle};

fuzz_target!(|data: &[u8]| {
    // Let the fuzzer skip the magic so it explores the structure behind it.
    let with_magic = [bundle::MAGIC.as_slice(), data].concat();
    for bytes in [data, with_magic.as_slice()] {
        if let Ok(b) = Bundle::from_bytes(bytes) {
            let today = Date::parse("today", "2026-12-01").expect("valid date");
            let _ = bundle::verify(&b, b.ledger_id, today);
        }
    }
});
