//! Properties of the safetensors reader and writer: any tensors round-trip, and corrupted files
//! fail with an error (never a panic).

use std::collections::BTreeMap;

use penzai::io::{HostTensor, SafetensorsFile, TensorData, serialize_tensors};
use proptest::prelude::*;

fn open(bytes: Vec<u8>) -> Result<SafetensorsFile, penzai::io::IoError> {
    SafetensorsFile::from_bytes("model.safetensors", bytes)
}

fn host_tensor() -> impl Strategy<Value = HostTensor> {
    prop::collection::vec(0usize..4, 0..4).prop_flat_map(|shape| {
        let n: usize = shape.iter().product();
        let data = prop_oneof![
            prop::collection::vec(any::<f32>().prop_filter("NaN != NaN", |x| !x.is_nan()), n)
                .prop_map(TensorData::F32),
            prop::collection::vec(any::<i64>(), n).prop_map(TensorData::I64),
            prop::collection::vec(any::<bool>(), n).prop_map(TensorData::Bool),
        ];
        (Just(shape), data).prop_map(|(shape, data)| HostTensor { shape, data })
    })
}

proptest! {
    #[test]
    fn any_tensors_round_trip(tensors in prop::collection::btree_map("[a-z.]{1,12}", host_tensor(), 0..6)) {
        let bytes = serialize_tensors(tensors.clone(), &BTreeMap::new()).unwrap();
        let file = open(bytes).unwrap();
        prop_assert_eq!(file.len(), tensors.len());
        for (name, t) in &tensors {
            prop_assert_eq!(&file.tensor(name).unwrap().to_host().unwrap(), t);
        }
    }

    #[test]
    fn corrupted_files_fail_cleanly(
        tensors in prop::collection::btree_map("[a-z]{1,4}", host_tensor(), 1..4),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = serialize_tensors(tensors, &BTreeMap::new()).unwrap();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        // Any outcome but a panic is fine; a file that still parses must convert.
        if let Ok(file) = open(bytes) {
            for view in file.tensors() {
                let _ = view.to_host();
            }
        }
    }
}
