//! The binary starts and refuses bad usage. (This test also makes cargo
//! build `feed-consumer` for the end-to-end package in `tests/`.)

use std::process::Command;

#[test]
fn usage() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_feed-consumer"))
            .args(args)
            .output()
            .expect("the binary runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, text) = run(&["--help"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("--state"), "{text}");
    let (code, text) = run(&[
        "--server",
        "http://127.0.0.1:1",
        "--ledger-id",
        "zz",
        "--state",
        "/tmp/x",
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("ledger id"), "{text}");
}
