//! Integration tests, compiled into one binary to keep link time down.
//! Each module tests one part against real processes and real sockets.

mod util;

mod contract;
mod crowd;
mod gateway_run;
mod hostile;
mod journal;
mod library;
mod llm_proxy;
mod llm_sim;
mod monitoring;
mod platform;
mod platform_llm;
mod platform_metrics;
mod proxy;
mod report;
mod run;
mod scenario;
mod services;
mod traffic;
