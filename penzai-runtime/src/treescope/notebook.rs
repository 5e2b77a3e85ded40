//! Inline display in the evcxr Jupyter kernel.

use super::html::HtmlOptions;
use crate::tree::Tree;

/// Shows a tree inline in evcxr notebooks.
///
/// evcxr calls a method named `evcxr_display` on a cell's value when one is in scope;
/// this trait provides it for every [`Tree`], printing the viewer as a `text/html`
/// output. Bring it into scope with `use penzai::treescope::NotebookDisplay;` (or the
/// prelude).
pub trait NotebookDisplay {
    /// Prints the evcxr content block for this value.
    fn evcxr_display(&self);

    /// The evcxr content block (`EVCXR_BEGIN_CONTENT text/html` … `EVCXR_END_CONTENT`).
    fn evcxr_content(&self) -> String;
}

impl<T: Tree> NotebookDisplay for T {
    fn evcxr_display(&self) {
        println!("{}", self.evcxr_content());
    }

    fn evcxr_content(&self) -> String {
        format!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT",
            HtmlOptions::new().to_fragment(self)
        )
    }
}
