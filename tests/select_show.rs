//! Showing a selection: the Treescope page and text mark exactly the selected nodes.

mod select_fixture;

use penzai::prelude::*;
use select_fixture::{Shift, net};

#[test]
fn the_text_marks_each_selected_node() {
    let s = select(net()).at_path("head").unwrap().at_children();
    let text = s.to_text();
    let marked: Vec<&str> = text.lines().filter(|l| l.contains("◀ selected")).collect();
    assert_eq!(marked.len(), 2, "{text}");
    assert!(
        marked[0].contains("[0]") && marked[0].contains("Scale"),
        "{text}"
    );
    assert!(
        marked[1].contains("[1]") && marked[1].contains("Shift"),
        "{text}"
    );
}

#[test]
fn the_page_marks_the_selected_nodes_and_show_writes_it() {
    let n = net();
    let s = select(n.as_dyn()).at_instances_of::<Shift>();
    let page = s.to_html();
    assert!(page.starts_with("<!doctype html>"));
    assert_eq!(
        page,
        penzai::treescope::to_html_with_selection(&n, s.paths())
    );
    let unmarked = penzai::treescope::to_html(&n);
    assert_ne!(page, unmarked);
    let path = s.show().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), page);
    std::fs::remove_file(path).unwrap();
}
