//! The HTML forms of an [`ArrayFigure`]: a fragment for pages that carry the viewer's assets,
//! and a self-contained page. Written here so that the figure's spec (part of the render
//! tree) does not depend on the renderer.

use std::path::Path;

use super::{json_island, page, write_page};
use crate::treescope::arrayviz::ArrayFigure;

impl ArrayFigure<'_> {
    /// The figure as a fragment to embed in a page that already has the viewer's assets
    /// (used by the tree page and by notebooks).
    pub fn to_fragment(&self) -> String {
        let spec = json_island(&self.spec());
        format!(
            "<div class=\"pza\"><script type=\"application/json\" class=\"pza-spec\">{spec}</script></div>"
        )
    }

    /// A complete, self-contained HTML page showing the figure.
    pub fn to_html(&self) -> String {
        page::array_page(&self.page_title(), &self.to_fragment(), false)
    }

    /// Writes [`to_html`](ArrayFigure::to_html) to `path`.
    pub fn save_html(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        write_page(path.as_ref(), &self.to_html())
    }
}
