//! GetServers throughput through the real SDK: 10,000 servers, pages of 100.
//! Prints the figure (run with `--nocapture` to see it); asserts only a loose floor.

use crate::common;

use std::time::{Duration, Instant};

use autopilot_local::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_servers_pages_per_second() {
    let emu = common::start(Scenario::generate(10_000, 100, 3)).await;
    let sms = common::sms(&emu).await;
    sms.import_server_catalog().send().await.expect("import");
    emu.advance(Duration::from_secs(24 * 3600));
    sms.import_server_catalog().send().await.expect("re-import");
    emu.advance(Duration::from_secs(121));
    let started = Instant::now();
    let mut pages = 0u32;
    let mut servers = 0usize;
    // Three full sweeps, bounded by a wall-clock budget.
    for _ in 0..3 {
        let mut stream = sms.get_servers().into_paginator().page_size(100).send();
        while let Some(page) = stream.next().await {
            servers += page.expect("page").server_list().len();
            pages += 1;
        }
        if started.elapsed() > Duration::from_secs(60) {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = f64::from(pages) / secs;
    println!("GetServers: {pages} pages of up to 100 ({servers} servers) in {secs:.2}s = {rate:.0} pages/s");
    assert_eq!(servers % 10_000, 0);
    assert!(rate > 5.0, "{rate} pages/s");
    emu.shutdown().await;
}
