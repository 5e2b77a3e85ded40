//! `Display` for the runtime's tree types whose `Tree` impl is written by hand: Treescope's
//! text form, as `#[derive(Tree)]` gives derived types. It lives here, not beside the types,
//! because `nn` sits below Treescope and cannot name its renderer.

use std::fmt;

use super::text::fmt_text;
use crate::nn::{AnyLayer, KVCachingAttention, Parameter};

impl fmt::Display for AnyLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_text(self.get(), f)
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_text(self, f)
    }
}

impl fmt::Display for KVCachingAttention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_text(self, f)
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::{AnyLayer, Identity, Parameter};
    use crate::nx::NamedArray;

    #[test]
    fn hand_written_nodes_print_as_treescope_text() {
        assert_eq!(AnyLayer::new(Identity).to_string(), "Identity\n");
        let p = Parameter::new("w", NamedArray::zeros(&[("a", 2)]).unwrap());
        assert!(p.to_string().starts_with("Parameter"), "{p}");
    }
}
