//! The binary starts, and usage errors exit 2. (This test also makes cargo
//! build `review-ledger` for the end-to-end package in `tests/`.)

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_review-ledger"))
        .args(args)
        .output()
        .expect("the binary runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn exit_codes() {
    let cases: &[(&[&str], i32, &str)] = &[
        (&["--help"], 0, "management reviews"),
        (&["frobnicate"], 2, "unrecognized subcommand"),
        (
            &["verify", "--ledger", "/nonexistent/ledger"],
            2,
            "/nonexistent/ledger",
        ),
        (&["prove", "--ledger", "/nonexistent/ledger"], 2, "--seq"),
    ];
    for (args, code, needle) in cases {
        let (got, text) = run(args);
        assert_eq!(got, *code, "{args:?}: {text}");
        assert!(
            text.contains(needle),
            "{args:?} should mention {needle:?}: {text}"
        );
    }
}
