//! autopilot-local's integration tests, one binary (the AWS SDK linked once): the SMS
//! stand-in against the official model through the real SDK, whole waves with the real
//! handlers (plain, planned, under chaos), and the `autopilot-local` command line.

mod common;

// The SMS stand-in, through the real aws-sdk-sms client; the MGN stand-in's protocol
// against its model.
mod app_lifecycle;
mod behaviour;
mod conformance;
mod job_lifecycle;
mod launch_configuration;
mod limits;
mod mgn_apps;
mod mgn_chaos;
mod mgn_configurations;
mod mgn_conformance;
mod mgn_ec2;
mod mgn_ec2_client;
mod mgn_events;
mod mgn_import;
mod mgn_life_cycle;
mod mgn_protocol;
mod mgn_readings;
mod mgn_replication;
mod mgn_sdk;
mod mgn_shapes;
mod sdk_end_to_end;
mod throughput;

// Scenarios and whole waves with the real handlers.
mod bad_scenarios;
mod chaos;
mod log_hygiene;
mod mgn_inventory;
mod mgn_launcher;
mod mgn_planner;
mod mgn_templates;
mod mgn_watcher;
mod mgn_wave;
mod plan_wave;
mod wave;

// The `autopilot-local` command line as a process.
mod cli_plan;
mod cli_run;
mod cli_serve;
mod serve_bus;
