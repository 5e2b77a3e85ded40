//! Behaviour of the Treescope API that needs no browser: escaping, options, notebook
//! output, colour switches, custom rendering.

mod treescope_support;

use penzai::prelude::*;
use penzai::treescope::{
    self, ArrayData, ArrayFigure, DocNode, HtmlOptions, NotebookDisplay, Render, TextOptions,
};
use treescope_support::{EVIL_KEY, hostile, transformer};

#[test]
fn pages_contain_no_raw_markup_from_user_strings() {
    let html = treescope::to_html(&hostile());
    assert!(!html.contains("<img"), "an <img> tag reached the page");
    assert!(
        !html.contains("<script>window"),
        "a payload script tag reached the page"
    );
    assert!(
        html.contains("\\u003cimg src=x"),
        "the key travels escaped in the JSON island"
    );
    assert_eq!(
        html.matches("<script").count(),
        3,
        "the island and the two viewer scripts (arrays, tree; no tokens shown, so no token views)"
    );
}

#[test]
fn pages_forbid_the_network_and_allow_only_their_own_scripts() {
    let html = treescope::to_html(&vec![1.0f32]);
    let csp = html
        .split("Content-Security-Policy\" content=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    for rule in [
        "default-src 'none'",
        "connect-src 'none'",
        "img-src data: blob:",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(rule), "{rule} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(
        csp.matches("'sha256-").count(),
        4,
        "two scripts and two styles, by hash (no token views on this page)"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external URL"
    );
}

#[test]
fn the_json_island_stays_readable() {
    let html = treescope::to_html(&transformer(1, 2, 3));
    assert!(html.contains(r#""key":".blocks","type":"Vec""#));
    // What every node of a type shares is written once, in the types table.
    assert!(html.contains(r#""Vec":{"kind":"sequence"}"#));
    // Array summaries travel as the text the page shows.
    assert!(html.contains(r#""summary":"f32{"#));
}

#[test]
fn selection_pages_mark_only_existing_paths() {
    let model = transformer(2, 2, 3);
    let html = treescope::to_html_with_selection(
        &model,
        &[
            "blocks[1].attn".parse().unwrap(),
            "missing[9]".parse().unwrap(),
        ],
    );
    assert_eq!(html.matches(r#""mark":"selected""#).count(), 1);
}

#[test]
fn long_children_lists_are_cut_in_the_page_with_a_count() {
    let long: Vec<u8> = vec![7; 5000];
    let doc = HtmlOptions::new().max_children(100).doc(&long);
    assert_eq!((doc.root.children.len(), doc.root.omitted), (100, 4900));
}

#[test]
fn notebook_output_is_an_evcxr_html_block() {
    let content = transformer(1, 2, 3).evcxr_content();
    assert!(content.starts_with("EVCXR_BEGIN_CONTENT text/html\n<div class=\"pz-fragment\">"));
    assert!(content.ends_with("</div>\nEVCXR_END_CONTENT"));
    assert!(!content.contains("<!doctype"), "a fragment, not a document");
}

#[test]
fn colour_is_ansi_when_on_and_absent_when_off() {
    let model = transformer(1, 2, 3);
    assert!(
        TextOptions::plain()
            .color(true)
            .render(&model)
            .contains("\x1b[")
    );
    assert!(!TextOptions::plain().render(&model).contains('\x1b'));
    // Test binaries write to a pipe, not a terminal: auto() turns colour off.
    assert!(!treescope::to_text(&model).contains('\x1b'));
}

#[test]
fn control_characters_in_names_cannot_drive_the_terminal() {
    let tree = std::collections::BTreeMap::from([("\x1b[2Jboom".to_owned(), 1u8)]);
    let text = TextOptions::plain().color(true).render(&tree);
    assert!(!text.contains("\x1b[2J"));
    let plain = treescope::to_text_plain(&std::collections::BTreeMap::from([(
        EVIL_KEY.to_owned(),
        1u8,
    )]));
    assert!(
        plain.contains("onerror"),
        "terminal text shows markup as it is"
    );
}

#[test]
fn bidi_and_line_separators_are_escaped_in_keys_and_axis_names_as_in_values() {
    // Issue 14: keys and axis names printed U+202E (bidi override) and U+2028 raw.
    let x = NamedArray::zeros(&[("seq\u{2028}len", 2), ("emb\u{202e}ding", 3)]).unwrap();
    let tree = std::collections::BTreeMap::from([
        ("key\u{202e}gnp.exe".to_owned(), x),
        (
            "line\u{2028}break\u{2029}".to_owned(),
            NamedArray::scalar(1.0),
        ),
    ]);
    let text = TextOptions::plain().render(&tree);
    for raw in ['\u{202e}', '\u{2028}', '\u{2029}'] {
        assert!(!text.contains(raw), "{raw:?} reached the terminal: {text}");
    }
    assert!(text.contains("key\\u{202e}gnp.exe"), "{text}");
    assert!(text.contains("line\\u{2028}break\\u{2029}"), "{text}");
    assert!(text.contains("seq\\u{2028}len: 2"), "{text}");
    assert!(text.contains("emb\\u{202e}ding: 3"), "{text}");
    let value = treescope::to_text_plain(&vec!["a\u{202e}b".to_owned()]);
    assert!(value.contains("a\\u{202e}b"), "{value}");
}

#[test]
fn display_through_fmt_text_honours_a_width() {
    struct Shown(Vec<String>);
    impl std::fmt::Display for Shown {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            treescope::fmt_text(&self.0, f)
        }
    }
    let s = format!("{:12}", Shown(vec!["a very long string value".into()]));
    assert_eq!(
        s, "Vec\n└─ [0]: Str…\n",
        "twelve characters per line, the last one '…'"
    );
}

#[test]
fn array_figures_take_masks_and_report_mismatches() {
    let x = NamedArray::from_f32(&[("a", 2), ("b", 2)], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let mask = NamedArray::from_bool(&[("a", 2), ("b", 2)], vec![true, false, true, true]).unwrap();
    let spec = treescope::render_array(&x).valid_mask_array(&mask).spec();
    assert!(spec.mask.is_some() && spec.notes.is_empty());
    let wrong = NamedArray::from_bool(&[("b", 2)], vec![true, false]).unwrap();
    let spec = treescope::render_array(&x).valid_mask_array(&wrong).spec();
    assert!(spec.mask.is_none());
    assert_eq!(
        spec.notes,
        vec![
            "valid mask ignored: its shape {b: 2} differs from the array's {a: 2, b: 2}".to_owned()
        ]
    );
}

#[test]
fn unknown_axis_names_are_noted_not_fatal() {
    let data = ArrayData::from_f32(&[("a", 2), ("b", 3)], vec![0.0; 6]).unwrap();
    let spec = ArrayFigure::new(data).rows(&["nope"]).spec();
    assert_eq!(
        spec.notes,
        vec!["no axis named \"nope\"; ignored".to_owned()]
    );
    assert_eq!(
        (spec.rows.len() + spec.cols.len() + spec.sliders.len()),
        2,
        "every axis still placed"
    );
}

#[derive(Clone, Debug, PartialEq, Tree)]
struct Tokens {
    ids: Vec<u32>,
}

impl Render for Tokens {
    fn render(&self, node: &mut DocNode) {
        node.value = Some(format!("{} tokens", self.ids.len()));
        node.children.clear();
        node.hue = Some(120);
    }
}

#[test]
fn registered_renderers_change_both_renderers() {
    treescope::register_render::<Tokens>();
    let t = Tokens { ids: vec![1, 2, 3] };
    assert_eq!(treescope::to_text_plain(&t), "Tokens = 3 tokens\n");
    let html = treescope::to_html(&t);
    assert!(html.contains(r#""value":"3 tokens""#) && html.contains(r#""hue":120"#));
}

#[test]
fn layers_are_coloured_even_when_they_are_sequences() {
    let model =
        penzai::models::TransformerLm::gpt2(&penzai::models::Gpt2Config::tiny(), 0).unwrap();
    let doc = treescope::to_doc(&model);
    let blocks = doc.get(&"blocks".parse().unwrap()).unwrap();
    assert!(
        blocks.layer && blocks.hue.is_some(),
        "{} has no colour",
        blocks.type_name
    );
    let params = treescope::to_doc(&vec![1u8]);
    assert_eq!(params.root.hue, None, "plain containers stay neutral");
}
