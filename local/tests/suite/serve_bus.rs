//! `autopilot-local serve` also serves the local event bus: a function publishing with
//! the unmodified aws-sdk-eventbridge client through `AWS_ENDPOINT_URL_EVENTBRIDGE`
//! lands its event there, and `GET /_bus/events` shows it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_autopilot-local");

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(endpoint: &str, path: &str) -> String {
    let address = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect to the bus");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[tokio::test]
async fn published_events_reach_the_served_bus() {
    let mut child = Command::new(BIN)
        .args(["serve", "--speed", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().unwrap();
    let serve = Serve(child);
    let mut endpoint = None;
    for line in BufReader::new(stdout).lines().take(20) {
        let line = line.unwrap();
        if let Some(value) = line.strip_prefix("export AWS_ENDPOINT_URL_EVENTBRIDGE=") {
            endpoint = Some(value.to_owned());
        }
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let endpoint = endpoint.expect("serve prints the EventBridge endpoint");

    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
        .region(aws_sdk_eventbridge::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url(&endpoint)
        .build();
    let client = aws_sdk_eventbridge::Client::from_conf(config);
    let answer = client
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name("sms-autopilot-events")
                .source("sms-autopilot")
                .detail_type("AppReady")
                .detail(r#"{"version":1,"dryRun":false,"appId":"app-1","servers":2}"#)
                .build(),
        )
        .send()
        .await
        .expect("PutEvents accepted");
    assert_eq!(answer.failed_entry_count(), 0);

    let listing = http_get(&endpoint, "/_bus/events");
    assert!(listing.starts_with("HTTP/1.1 200"), "{listing}");
    assert!(listing.contains(r#""detail-type":"AppReady""#), "{listing}");
    assert!(
        listing.contains(r#""bus":"sms-autopilot-events""#),
        "{listing}"
    );
    drop(serve);
}
