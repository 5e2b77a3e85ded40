//! Any bytes given as an HF config.json: an error or a config, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use penzai_runtime::io::HfConfig;

fuzz_target!(|data: &[u8]| {
    let _ = HfConfig::from_json_bytes("config.json", data);
});
