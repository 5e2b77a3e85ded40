//! Any bytes given as a safetensors file: parsing must fail with an error or yield tensors that
//! all convert, never panic, abort or allocate more than the input justifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use penzai_runtime::io::SafetensorsFile;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = SafetensorsFile::from_bytes("fuzz.safetensors", data.to_vec()) else {
        return;
    };
    for view in file.tensors() {
        assert_eq!(view.bytes().len(), view.element_count() * view.dtype().size_bytes());
        if let Ok(host) = view.to_host() {
            assert_eq!(host.data.len(), view.element_count());
        }
        let _ = view.to_named_array(&["a", "b"]);
    }
});
