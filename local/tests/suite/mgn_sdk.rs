//! The MGN stand-in through the real aws-sdk-mgn client: the SDK signs, routes and reads
//! the stand-in's answers as it would the service's (InitializeService's empty 204, the
//! model's UninitializedAccountException as its typed error, and an operation not served
//! yet as an error named in `x-amzn-ErrorType`).

use crate::common;

use autopilot_local::mgn::MgnHandle;
use autopilot_local::Scenario;
use aws_sdk_mgn::error::ProvideErrorMetadata;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_initializes_the_account_and_reads_the_refusals() {
    let mgn = MgnHandle::start(Scenario::default_scenario(), 0)
        .await
        .expect("the MGN stand-in starts");
    let mgn_client = common::mgn(&mgn.endpoint());

    let before = mgn_client
        .describe_source_servers()
        .send()
        .await
        .expect_err("an uninitialized account refuses");
    let service = before.into_service_error();
    assert!(
        service.is_uninitialized_account_exception(),
        "typed as the model's error: {service:?}"
    );
    assert!(service
        .message()
        .is_some_and(|m| m.contains("InitializeService")));

    mgn_client
        .initialize_service()
        .send()
        .await
        .expect("InitializeService answers 204");

    let not_served = mgn_client
        .list_connectors()
        .send()
        .await
        .expect_err("not served yet");
    let service = not_served.into_service_error();
    assert_eq!(
        service.code(),
        Some("NotImplementedException"),
        "{service:?}"
    );
    mgn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenarios_faults_reach_the_sdk_as_the_models_errors() {
    use autopilot_local::{Faults, Throttle, ThrottleClock};
    let mgn = MgnHandle::start(Scenario::default_scenario(), 0)
        .await
        .expect("the MGN stand-in starts");
    let mgn_client = common::mgn(&mgn.endpoint());
    mgn_client
        .initialize_service()
        .send()
        .await
        .expect("initialized");
    mgn.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let failed = mgn_client
        .describe_source_servers()
        .send()
        .await
        .expect_err("every call fails")
        .into_service_error();
    // DescribeSourceServers declares no InternalServerException: the SDK names it by code.
    assert_eq!(failed.code(), Some("InternalServerException"), "{failed:?}");
    mgn.set_faults(Faults {
        throttle: Some(Throttle {
            max_calls_per_second: 1,
            per: ThrottleClock::Simulated,
        }),
        ..Faults::default()
    });
    mgn_client
        .describe_source_servers()
        .send()
        .await
        .expect("within the budget");
    let throttled = mgn_client
        .describe_source_servers()
        .send()
        .await
        .expect_err("over the budget")
        .into_service_error();
    assert_eq!(
        throttled.code(),
        Some("ThrottlingException"),
        "{throttled:?}"
    );
    let counts = mgn.faults_injected();
    assert_eq!((counts.internal_errors, counts.throttled), (1, 1));
    mgn.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_counted_refusals_named_and_applied_calls_heard_first() {
    let mgn = MgnHandle::start(Scenario::default_scenario(), 0)
        .await
        .expect("the MGN stand-in starts");
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let hearing = std::sync::Arc::clone(&heard);
    mgn.on_answer(std::sync::Arc::new(move |operation: &str| {
        hearing.lock().expect("hook").push(operation.to_owned());
    }));
    let mgn_client = common::mgn(&mgn.endpoint());
    mgn_client
        .initialize_service()
        .send()
        .await
        .expect("initialized");
    mgn_client
        .describe_source_servers()
        .send()
        .await
        .expect("listed");
    let refused = mgn_client
        .finalize_cutover()
        .source_server_id("s-0123456789abcdef0")
        .send()
        .await
        .expect_err("no such server");
    assert_eq!(
        refused.into_service_error().code(),
        Some("ResourceNotFoundException")
    );
    let counts = mgn.call_counts();
    assert_eq!(counts.get("DescribeSourceServers"), Some(&1));
    assert_eq!(counts.get("FinalizeCutover"), Some(&1));
    assert_eq!(
        mgn.refusals()
            .get("FinalizeCutover ResourceNotFoundException"),
        Some(&1)
    );
    let heard = heard.lock().expect("hook").clone();
    assert_eq!(heard, ["InitializeService", "DescribeSourceServers"]);
    mgn.shutdown().await;
}
