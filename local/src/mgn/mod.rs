//! The MGN stand-in (AWS Application Migration Service, `mgn-2020-02-26`), a peer of the
//! functions like the SMS one: it follows the official model and the MGN user guide,
//! never the core's reading of them (it imports nothing from `autopilot-core`). So far
//! its wire protocol: [`protocol`] routes requests by method and URI and names the
//! model's errors.

pub mod protocol;
