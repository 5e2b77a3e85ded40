#!/usr/bin/env python3
"""Generates two identical workspaces differing only in the registry crate's mechanism
(`inventory` or `linkme`), each registering 80 serde layer types, for the measurement quoted in
penzai-runtime/src/io/save/registry.rs (run by hand, outside the repo):

    python3 tools/registration_bench/gen.py /tmp/regbench
    cp tools/registration_bench/bench.sh /tmp/regbench/ && /tmp/regbench/bench.sh 5 raw.csv
"""
import json, os, random, sys

N = 80
ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "/tmp/regbench")
FIELD_KINDS = [("u32", "u32"), ("f64", "f64"), ("String", "str"), ("Vec<u16>", "vec"),
               ("Option<i64>", "opt"), ("bool", "bool")]

def w(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

REG_COMMON = r'''use std::any::Any;
use std::collections::HashMap;
use std::sync::OnceLock;

pub struct LayerEntry {
    pub name: &'static str,
    pub load: fn(&serde_json::Value) -> Result<Box<dyn Any>, String>,
}

fn map() -> &'static HashMap<&'static str, &'static LayerEntry> {
    static MAP: OnceLock<HashMap<&'static str, &'static LayerEntry>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = HashMap::new();
        for e in entries() {
            if m.insert(e.name, e).is_some() {
                panic!("duplicate layer name {}", e.name);
            }
        }
        m
    })
}

pub fn find(name: &str) -> Option<&'static LayerEntry> {
    map().get(name).copied()
}

pub fn count() -> usize {
    map().len()
}
'''

REG_INVENTORY = REG_COMMON + r'''
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}

inventory::collect!(LayerEntry);

fn entries() -> impl Iterator<Item = &'static LayerEntry> {
    inventory::iter::<LayerEntry>.into_iter()
}

/// Facade macro: downstream crates need no direct dependency on `inventory`.
#[macro_export]
macro_rules! register_layer {
    ($name:expr, $load:expr) => {
        $crate::__private::inventory::submit! {
            $crate::LayerEntry { name: $name, load: $load }
        }
    };
}
'''

REG_LINKME = REG_COMMON + r'''
#[doc(hidden)]
pub mod __private {
    pub use linkme;
}

#[linkme::distributed_slice]
pub static LAYERS: [LayerEntry];

fn entries() -> impl Iterator<Item = &'static LayerEntry> {
    LAYERS.iter()
}

/// Facade macro: downstream crates need no direct dependency on `linkme`,
/// which requires `#[linkme(crate = ...)]` pointing at the re-export.
#[macro_export]
macro_rules! register_layer {
    ($name:expr, $load:expr) => {
        const _: () = {
            #[$crate::__private::linkme::distributed_slice($crate::LAYERS)]
            #[linkme(crate = $crate::__private::linkme)]
            static ENTRY: $crate::LayerEntry = $crate::LayerEntry { name: $name, load: $load };
        };
    };
}
'''

def gen_layers(rng):
    specs = []
    for i in range(N):
        nf = 3 + (i % 2)
        kinds = [FIELD_KINDS[(i * 7 + j * 3 + rng.randrange(6)) % 6] for j in range(nf)]
        fields = [(f"f{i}_{j}_{k[1]}", k) for j, k in enumerate(kinds)]
        specs.append((f"Layer{i:02}", fields))
    return specs

def sum_expr(fname, kind):
    return {
        "u32": f"self.{fname} as u64",
        "f64": f"self.{fname}.to_bits()",
        "str": f"self.{fname}.bytes().fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(b as u64))",
        "vec": f"self.{fname}.iter().fold(0u64, |a, &b| a.wrapping_mul(17).wrapping_add(b as u64))",
        "opt": f"self.{fname}.map_or(7, |v| v as u64)",
        "bool": f"self.{fname} as u64 + 1",
    }[kind]

def json_value(kind, rng):
    return {
        "u32": rng.randrange(1 << 31),
        "f64": round(rng.uniform(-1e3, 1e3), 6),
        "str": "".join(rng.choice("abcdefghij") for _ in range(rng.randrange(3, 12))),
        "vec": [rng.randrange(65536) for _ in range(rng.randrange(0, 6))],
        "opt": rng.choice([None, rng.randrange(-(1 << 40), 1 << 40)]),
        "bool": rng.choice([True, False]),
    }[kind]

def main():
    rng = random.Random(42)
    specs = gen_layers(rng)
    data = []
    for name, fields in specs:
        data.append({"type": name, "value": {f: json_value(k[1], rng) for f, k in fields}})
    for variant in ("inventory", "linkme"):
        ws = os.path.join(ROOT, f"ws_{variant}")
        w(f"{ws}/Cargo.toml", f'''[workspace]
resolver = "2"
members = ["registry", "layers", "app"]

[workspace.dependencies]
serde = {{ version = "=1.0.229", features = ["derive"] }}
serde_json = "=1.0.154"

# same as penzai-rs
[profile.dev]
debug = "line-tables-only"

[profile.release]
debug = "line-tables-only"
''')
        w(f"{ws}/rust-toolchain.toml", '[toolchain]\nchannel = "1.95.0"\nprofile = "minimal"\n')
        dep = 'inventory = "=0.3.25"' if variant == "inventory" else 'linkme = "0.3"'
        w(f"{ws}/registry/Cargo.toml", f'''[package]
name = "registry"
version = "0.1.0"
edition = "2024"

[dependencies]
serde_json.workspace = true
{dep}
''')
        w(f"{ws}/registry/src/lib.rs", REG_INVENTORY if variant == "inventory" else REG_LINKME)
        # layers: depends only on the facade (no inventory/linkme dependency)
        w(f"{ws}/layers/Cargo.toml", '''[package]
name = "layers"
version = "0.1.0"
edition = "2024"

[dependencies]
registry = { path = "../registry" }
serde.workspace = true
serde_json.workspace = true
''')
        lib = ['//! Generated by gen.py: 80 layer types, each registering itself.',
               'use std::any::Any;', '',
               'pub trait Sum { fn sum(&self) -> u64; }', '',
               '/// Shared loader: deserializes `T` and boxes it as `Box<dyn Sum>` inside `Box<dyn Any>`.',
               'pub fn load<T: serde::de::DeserializeOwned + Sum + \'static>(v: &serde_json::Value) -> Result<Box<dyn Any>, String> {',
               '    let t = T::deserialize(v).map_err(|e| e.to_string())?;',
               '    let b: Box<dyn Sum> = Box::new(t);',
               '    Ok(Box::new(b))',
               '}', '']
        for i, (name, fields) in enumerate(specs):
            mod = f"l{i:02}"
            lib.append(f"mod {mod};")
            lib.append(f"pub use {mod}::{name};")
            body = [f"use serde::Deserialize;", "",
                    "#[derive(Debug, Deserialize)]", "#[serde(deny_unknown_fields)]",
                    f"pub struct {name} {{"]
            for f, (ty, _) in fields:
                body.append(f"    pub {f}: {ty},")
            body.append("}")
            body.append("")
            body.append(f"impl crate::Sum for {name} {{")
            body.append("    fn sum(&self) -> u64 {")
            body.append(f"        let mut h: u64 = {i + 1};")
            for f, (_, k) in fields:
                body.append(f"        h = h.rotate_left(5) ^ ({sum_expr(f, k)});")
            body.append("        h")
            body.append("    }")
            body.append("}")
            body.append("")
            body.append(f'registry::register_layer!("{name}", crate::load::<{name}>);')
            w(f"{ws}/layers/src/{mod}.rs", "\n".join(body) + "\n")
        w(f"{ws}/layers/src/lib.rs", "\n".join(lib) + "\n")
        w(f"{ws}/app/Cargo.toml", '''[package]
name = "app"
version = "0.1.0"
edition = "2024"

[dependencies]
registry = { path = "../registry" }
layers = { path = "../layers" }
serde_json.workspace = true
''')
        w(f"{ws}/app/data.json", json.dumps(data, indent=1) + "\n")
        w(f"{ws}/app/src/main.rs", r'''use layers::Sum;

const DATA: &str = include_str!("../data.json");

fn main() {
    let items: Vec<serde_json::Value> = serde_json::from_str(DATA).expect("data.json");
    let mut checksum: u64 = 0;
    let mut loaded = 0usize;
    for item in &items {
        let name = item["type"].as_str().expect("type");
        let entry = registry::find(name).unwrap_or_else(|| panic!("unregistered layer {name}"));
        assert_eq!(entry.name, name);
        let any = (entry.load)(&item["value"]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let layer = any.downcast::<Box<dyn Sum>>().expect("Box<dyn Sum>");
        checksum = checksum.wrapping_mul(0x100000001b3) ^ layer.sum();
        loaded += 1;
    }
    assert!(registry::find("NoSuchLayer").is_none());
    // a wrong-shaped value must be rejected by the registered deserializer
    let err = (registry::find("Layer00").unwrap().load)(&serde_json::json!({"bogus": 1}));
    assert!(err.is_err());
    println!("registered={} loaded={} checksum={:016x}", registry::count(), loaded, checksum);
}
''')

main()
