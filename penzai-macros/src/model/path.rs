//! Where a step sits in the model: its path (as `KeyPath` prints it, for messages) and its
//! parameter label (the same path with dots, `blocks.{i}.attn` inside repeats).

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;

use super::parse::{Step, StepKind};

#[derive(Clone, Debug)]
enum Segment {
    Field(String),
    Index(usize),
    /// The block index of an enclosing `repeat` (a loop variable at run time).
    Repeat,
}

/// A step's path from the model's root.
#[derive(Clone, Debug, Default)]
pub struct StepPath {
    segments: Vec<Segment>,
}

impl StepPath {
    pub fn field(&self, name: &str) -> StepPath {
        self.with(Segment::Field(name.to_owned()))
    }

    pub fn index(&self, i: usize) -> StepPath {
        self.with(Segment::Index(i))
    }

    /// The path of a repeated block: `blocks[i]`.
    pub fn repeat(&self) -> StepPath {
        self.with(Segment::Repeat)
    }

    fn with(&self, segment: Segment) -> StepPath {
        let mut segments = self.segments.clone();
        segments.push(segment);
        StepPath { segments }
    }

    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// How many `repeat`s enclose this path.
    pub fn repeat_depth(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Repeat))
            .count()
    }

    /// The path as `KeyPath` prints it; a repeated block reads as block 0, the one a run
    /// would report first.
    pub fn display(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Field(name) if out.is_empty() => out.push_str(name),
                Segment::Field(name) => {
                    out.push('.');
                    out.push_str(name);
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
                Segment::Repeat => out.push_str("[0]"),
            }
        }
        out
    }

    /// The parameter label as a `format!` string with one `{}` per enclosing repeat (in
    /// order of depth): `blocks.{}.attn.query`.
    pub fn label_format(&self) -> String {
        let parts: Vec<String> = self
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Field(name) => name.clone(),
                Segment::Index(i) => i.to_string(),
                Segment::Repeat => "{}".to_owned(),
            })
            .collect();
        parts.join(".")
    }
}

/// The key a step is reached by among its siblings, when it has a name: the step name, a
/// `NamedGroup`'s own name, or a `repeat`'s name.
pub fn step_key(step: &Step) -> Option<String> {
    if let Some(name) = &step.name {
        return Some(name.unraw().to_string());
    }
    match &step.kind {
        StepKind::Group(g) => g.label.as_ref().map(|l| l.value()),
        StepKind::Repeat(r) => r.name.as_ref().map(|n| n.unraw().to_string()),
        _ => None,
    }
}

/// Where a step's input comes from, as `penzai::nn::Place` says it in messages.
#[derive(Clone, Debug)]
pub enum PlaceSpec {
    Input,
    Start(String),
    After {
        index: usize,
        name: Option<String>,
        group: String,
    },
}

impl PlaceSpec {
    /// The start of the group at `path` (the model's input at the root).
    pub fn start(path: &StepPath) -> PlaceSpec {
        if path.is_root() {
            PlaceSpec::Input
        } else {
            PlaceSpec::Start(path.display())
        }
    }

    /// Where the input of step `index` (0-based) of `steps`, the sequence at `path`,
    /// comes from: the start of the sequence, or the step before it.
    pub fn of_step(steps: &[Step], index: usize, path: &StepPath) -> PlaceSpec {
        match index.checked_sub(1) {
            None => PlaceSpec::start(path),
            Some(previous) => PlaceSpec::After {
                index: previous,
                name: step_key(&steps[previous]),
                group: path.display(),
            },
        }
    }

    /// The place as a `Place` expression (`p` is `::penzai::__private`).
    pub fn tokens(&self, p: &TokenStream) -> TokenStream {
        match self {
            PlaceSpec::Input => quote!(#p::Place::Input),
            PlaceSpec::Start(group) => quote!(#p::Place::Start(#group)),
            PlaceSpec::After { index, name, group } => {
                let name = match name {
                    Some(n) => quote!(#p::Some(#n)),
                    None => quote!(#p::None),
                };
                quote!(#p::Place::After { index: #index, name: #name, group: #group })
            }
        }
    }
}
