//! The standard gRPC health and reflection services, called by a generic
//! client as grpcurl or a GRC platform's tooling would: no generated code of
//! ours on this side, only the descriptors the server hands out.

use std::collections::BTreeSet;

use prost::Message;
use prost_types::FileDescriptorProto;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::service::{Server, founded};

const LEDGER: &str = "reviewledger.v1.LedgerService";
const REVIEW: &str = "reviewledger.v1.ReviewService";

/// A method as reflection describes it: name, client streaming, server streaming.
type Method<'a> = (&'a str, bool, bool);

/// A founded ledger served by the real binary, and a plain channel to it.
async fn serving() -> (tempfile::TempDir, Server, Channel) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    founded(&dir);
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let channel = Channel::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    (tmp, server, channel)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_for_the_server_and_each_service() {
    let (_tmp, server, channel) = serving().await;
    let mut health = HealthClient::new(channel);
    for service in ["", LEDGER, REVIEW] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|s| panic!("health of {service:?}: {s}"))
            .into_inner()
            .status;
        assert_eq!(
            status,
            ServingStatus::Serving as i32,
            "health of {service:?}"
        );
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "reviewledger.v1.NoSuchService".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(server.stop().success());
}

/// One reflection request and its answer, over one stream.
async fn reflect(
    client: &mut ServerReflectionClient<Channel>,
    request: MessageRequest,
) -> MessageResponse {
    try_reflect(client, request).await.unwrap()
}

/// One reflection request and its answer or the status that ended the stream.
async fn try_reflect(
    client: &mut ServerReflectionClient<Channel>,
    request: MessageRequest,
) -> Result<MessageResponse, tonic::Status> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await?.expect("one answer");
    Ok(answer.message_response.expect("an answer with a body"))
}

/// The file descriptors of an answer, decoded.
fn files(answer: MessageResponse) -> Vec<FileDescriptorProto> {
    let MessageResponse::FileDescriptorResponse(files) = answer else {
        panic!("expected file descriptors, got {answer:?}");
    };
    files
        .file_descriptor_proto
        .iter()
        .map(|b| FileDescriptorProto::decode(b.as_slice()).expect("a valid descriptor"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_and_describes_every_service() {
    let (_tmp, server, channel) = serving().await;
    let mut client = ServerReflectionClient::new(channel);

    let MessageResponse::ListServicesResponse(list) =
        reflect(&mut client, MessageRequest::ListServices(String::new())).await
    else {
        panic!("expected the list of services");
    };
    let names: BTreeSet<String> = list.service.into_iter().map(|s| s.name).collect();
    let expected: BTreeSet<String> = [
        LEDGER,
        REVIEW,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ]
    .map(String::from)
    .into();
    assert_eq!(names, expected);

    // Each of our services is described with every method the contract has,
    // streaming where it streams.
    let contract: [(&str, &[Method]); 2] = [
        (
            LEDGER,
            &[
                ("Append", false, false),
                ("AppendStream", true, false),
                ("ReadRange", false, false),
                ("GetByEventId", false, false),
                ("ReadReview", false, false),
                ("Feed", false, true),
                ("GetCheckpoint", false, false),
                ("GetInclusionProof", false, false),
                ("GetConsistencyProof", false, false),
                ("ListLedgers", false, false),
            ],
        ),
        (
            REVIEW,
            &[
                ("ListReviews", false, false),
                ("GetMinutes", false, false),
                ("ListActions", false, false),
                ("ListObjectives", false, false),
                ("Check", false, false),
                ("VerifyReview", false, false),
                ("GetBundle", false, false),
            ],
        ),
    ];
    for (service, methods) in contract {
        let files = files(
            reflect(
                &mut client,
                MessageRequest::FileContainingSymbol(service.into()),
            )
            .await,
        );
        let short = service.rsplit('.').next().unwrap();
        let described = files
            .iter()
            .filter(|f| f.package() == "reviewledger.v1")
            .flat_map(|f| &f.service)
            .find(|s| s.name() == short)
            .unwrap_or_else(|| panic!("{service} is not described"));
        let got: Vec<Method> = described
            .method
            .iter()
            .map(|m| (m.name(), m.client_streaming(), m.server_streaming()))
            .collect();
        assert_eq!(got, methods, "the methods of {service}");
    }

    // A request message is described too, field by field.
    let files = files(
        reflect(
            &mut client,
            MessageRequest::FileContainingSymbol("reviewledger.v1.FeedRequest".into()),
        )
        .await,
    );
    let feed_request = files
        .iter()
        .flat_map(|f| &f.message_type)
        .find(|m| m.name() == "FeedRequest")
        .expect("FeedRequest is described");
    let fields: Vec<&str> = feed_request.field.iter().map(|f| f.name()).collect();
    assert_eq!(fields, ["ledger_id", "from"]);

    // An unknown symbol ends the stream with NOT_FOUND naming it.
    let unknown = try_reflect(
        &mut client,
        MessageRequest::FileContainingSymbol("reviewledger.v1.NoSuchThing".into()),
    )
    .await
    .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(unknown.message().contains("reviewledger.v1.NoSuchThing"));
    assert!(server.stop().success());
}

/// Python's grpcio-reflection, which speaks only `grpc.reflection.v1alpha`,
/// lists the services and describes the ledger service's methods; from the
/// descriptors alone, the same client reads the demo ledger's typed
/// payloads and typed minutes (`tools/reflection_client.py`). Skipped,
/// saying so, where grpcio is not installed in `target/pylib` (`.ci/run`
/// installs it).
#[test]
fn a_python_client_reflects_through_v1alpha() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let pylib = root.join("target/pylib");
    let ready = std::process::Command::new("python3")
        .args(["-c", "import grpc, grpc_reflection"])
        .env("PYTHONPATH", &pylib)
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        eprintln!(
            "skipped: the v1alpha reflection test needs python3 with grpcio and grpcio-reflection \
             in target/pylib (pip install --target target/pylib grpcio grpcio-reflection; \
             .ci/run does)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let (code, _, err) = e2e::run(&["demo", "--dir", demo.to_str().unwrap()]).unwrap();
    assert_eq!(code, 0, "{err}");
    let dir = demo.join("ledger");
    let (_, minutes, err) = e2e::run(&[
        "minutes",
        "show",
        "--ledger",
        dir.to_str().unwrap(),
        "--review",
        "mr-prev",
        "--format",
        "json",
    ])
    .unwrap();
    let want: serde_json::Value = serde_json::from_str(&minutes).expect(&err);
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let out = std::process::Command::new("python3")
        .arg(root.join("tools/reflection_client.py"))
        .arg(server.url().trim_start_matches("http://"))
        .env("PYTHONPATH", &pylib)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let services: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for s in [LEDGER, REVIEW, "grpc.health.v1.Health"] {
        assert!(services.contains(&s), "{services:?}");
    }
    let methods = v["ledger_methods"].to_string();
    for m in ["Append", "Feed", "GetCheckpoint"] {
        assert!(methods.contains(m), "{methods}");
    }
    // Every entry came with the typed payload field its kind names
    // (`review.input` as `input`, `minutes.sign` as `sign`, ...).
    let kinds = v["kinds"].as_array().unwrap();
    assert!(kinds.len() > 30, "{kinds:?}");
    for pair in kinds {
        let kind = pair[0].as_str().unwrap();
        let field = pair[1]
            .as_str()
            .unwrap_or_else(|| panic!("{kind}: no payload"));
        let named = match kind {
            "roster.propose" => "propose",
            "roster.approve" => "approve",
            "roster.rotate" => "rotate",
            "review.decide" => "decide",
            "review.open" => "open",
            "minutes.sign" => "sign",
            "action.update" => "action-update",
            other => other.rsplit('.').next().unwrap(),
        };
        assert_eq!(field.replace('_', "-"), named, "{kind}");
    }
    // The typed minutes, read through descriptors alone, are the CLI's.
    assert_eq!(v["organisation"], want["organisation"]);
    let m = &v["minutes"];
    assert_eq!(m["review"], "mr-prev");
    assert_eq!(
        m["schedule"]["item"]["title"],
        want["minutes"]["schedule"]["item"]["title"]
    );
    let inputs = m["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 10, "{inputs:?}");
    for i in inputs {
        let seq = i["recorded"]["seq"].as_str().unwrap(); // uint64: a JSON string
        let recorded = want["minutes"]["inputs"]
            .as_object()
            .unwrap()
            .values()
            .find(|r| r["seq"].as_u64().map(|s| s.to_string()).as_deref() == Some(seq))
            .unwrap_or_else(|| panic!("input at {seq}"));
        assert_eq!(i["item"]["summary"], recorded["item"]["summary"]);
    }
    assert_eq!(
        m["decisions"].as_array().unwrap().len(),
        want["minutes"]["decisions"].as_array().unwrap().len()
    );
    assert!(server.stop().success());
}
