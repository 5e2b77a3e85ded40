//! The HTML forms of a [`TokenFigure`]: a fragment for pages that carry the viewer's assets,
//! and a self-contained page. Written here, like the array figure's, so that the token spec
//! (part of the render tree) does not depend on the renderer.

use std::path::Path;

use super::{json_island, page, write_page};
use crate::treescope::tokens::TokenFigure;

impl TokenFigure<'_> {
    /// The figure as a fragment for a page that already has the viewer's assets.
    pub fn to_fragment(&self) -> String {
        format!(
            "<div class=\"pzk\"><script type=\"application/json\" class=\"pzk-spec\">{}</script></div>",
            json_island(&self.spec())
        )
    }

    /// A complete, self-contained HTML page showing the figure.
    pub fn to_html(&self) -> String {
        page::array_page(&self.page_title(), &self.to_fragment(), true)
    }

    /// Writes [`to_html`](TokenFigure::to_html) to `path`; an error names the path.
    pub fn save_html(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        write_page(path.as_ref(), &self.to_html())
    }
}
