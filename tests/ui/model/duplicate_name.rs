// Two steps of one sequence share a name (a NamedGroup's name counts as its step name).
use penzai::prelude::*;

fn main() {
    let _ = model! {
        input: [batch, embedding: 64];
        up: Linear(embedding: 64 -> hidden: 64),
        up: Linear(hidden: 64 -> embedding: 64),
        NamedGroup "mlp" [ Relu ],
        NamedGroup "mlp" [ Gelu ],
    };
}
