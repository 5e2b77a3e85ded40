//! Showing a selection: a Treescope page (or terminal text) with the selected nodes marked.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::selection::{SelectRoot, Selection};
use crate::treescope::{self, Doc, HtmlOptions, TextOptions};

impl<R: SelectRoot> Selection<R> {
    /// A self-contained Treescope page of the tree with the selected nodes marked and
    /// opened (everything else folded as usual).
    ///
    /// ```
    /// use penzai::prelude::*;
    /// use penzai::models::{LlamaConfig, TransformerLm};
    /// use penzai::nn::Softmax;
    ///
    /// let model = TransformerLm::llama(&LlamaConfig::tiny(), 0)?;
    /// let page = select(model.as_dyn()).at_instances_of::<Softmax>().to_html();
    /// assert!(page.starts_with("<!doctype html>"));
    /// # Ok::<(), penzai::Error>(())
    /// ```
    pub fn to_html(&self) -> String {
        treescope::to_html_with_selection(self.root.root_tree(), &self.paths)
    }

    /// Writes [`to_html`](Selection::to_html) to `path`.
    pub fn save_html(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        HtmlOptions::new()
            .select(&self.paths)
            .save_html(self.root.root_tree(), path)
    }

    /// Writes the page to a new file in the system's temporary directory and returns its
    /// path, to open in a browser (Penzai's `show_selection`, outside a notebook; in an
    /// evcxr notebook a selection displays inline, see
    /// [`evcxr_display`](Selection::evcxr_display)).
    pub fn show(&self) -> std::io::Result<PathBuf> {
        static SHOWN: AtomicUsize = AtomicUsize::new(0);
        let n = SHOWN.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("penzai-selection-{}-{n}.html", std::process::id()));
        self.save_html(&path)?;
        Ok(path)
    }

    /// The tree as terminal text (no colour) with each selected node marked
    /// `◀ selected`.
    pub fn to_text(&self) -> String {
        let mut doc = Doc::new(self.root.root_tree());
        doc.select(&self.paths);
        TextOptions::plain().render_doc(&doc)
    }

    /// Displays the selection inline in an evcxr notebook (evcxr calls this on a cell's
    /// value): the Treescope viewer with the selected nodes marked.
    pub fn evcxr_display(&self) {
        let fragment = HtmlOptions::new()
            .select(&self.paths)
            .to_fragment(self.root.root_tree());
        println!("EVCXR_BEGIN_CONTENT text/html\n{fragment}\nEVCXR_END_CONTENT");
    }
}
