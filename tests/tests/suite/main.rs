//! The workspace's integration tests, one binary (the AWS SDK linked once): whole waves
//! on the stand-in and on moto, the functions' real binaries, the template against the
//! code, and the rules of ARCHITECTURE.md.

mod common;

// The code and the deployed stack.
mod architecture;
mod infra_template;
mod least_privilege;
mod notifications;

// What the functions refuse: bad configuration, events and SMS answers.
mod bad_config;
mod bad_events;
mod bad_sms_answers;
mod fixtures;

// Whole waves and the state that must survive retries and overlaps.
mod ec2_client_on_moto;
mod ec2_stand_in;
mod idempotency;
mod lease;
mod moto_wave;
mod planner_idempotency;
mod wave_reporter;

// The real binaries under a Lambda Runtime API, and killed mid-invocation.
mod hard_kills;
mod runtime_api;
