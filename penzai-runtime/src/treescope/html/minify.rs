//! A small whitespace-and-comment stripper for the viewer's own JS and CSS, run once per
//! process before the assets are inlined: every page carries the viewer, so each byte saved
//! here is saved on every page, while the sources stay commented and indented.
//!
//! It knows only what our assets use. JS: strings (`'`, `"`, `` ` ``), `//` and `/* */`
//! comments; no regular-expression literals (a `/` that does not open a comment is
//! division). CSS: strings, comments, and which punctuation needs no surrounding space.

/// Characters that may form part of an identifier, keyword or number in JS.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Characters after which a line break can never end a JS statement, so the break can go.
/// (`}` may close a function expression, and `+`/`-` may end `x++`: breaks after them stay.)
fn continues_after(c: char) -> bool {
    matches!(
        c,
        ';' | '{' | ',' | '(' | '[' | ':' | '=' | '&' | '|' | '?' | '*' | '<' | '>' | '!'
    )
}

/// Characters before which a line break cannot start a new JS statement.
fn continues_before(c: char) -> bool {
    matches!(
        c,
        '}' | ')' | ']' | ',' | ';' | ':' | '.' | '=' | '&' | '|' | '?' | '*' | '<' | '>'
    )
}

/// Copies a string literal opened by `quote` (already consumed) through its closing quote.
fn copy_string(
    quote: char,
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    out: &mut String,
) {
    out.push(quote);
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '\\' {
            if let Some(escaped) = chars.next() {
                out.push(escaped);
            }
        } else if c == quote {
            break;
        }
    }
}

/// JS without comments and with only the whitespace the grammar needs: one space between
/// two word characters (or two `+`/`-`, so `a - -b` stays), and a line break kept wherever
/// automatic semicolon insertion could depend on it.
pub(crate) fn minify_js(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    // Whitespace seen since the last emitted token: none, spaces, or a line break.
    let mut pending_space = false;
    let mut pending_break = false;
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        pending_break = true;
                        break;
                    }
                }
                continue;
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if c == '\n' {
                        pending_break = true;
                    }
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
                pending_space = true;
                continue;
            }
            c if c.is_whitespace() => {
                if c == '\n' {
                    pending_break = true;
                }
                pending_space = true;
                continue;
            }
            _ => {}
        }
        if let Some(prev) = out.chars().next_back() {
            if pending_break && !continues_after(prev) && !continues_before(c) {
                out.push('\n');
            } else if pending_space
                && ((is_word(prev) && is_word(c))
                    || (prev == '+' && c == '+')
                    || (prev == '-' && c == '-'))
            {
                out.push(' ');
            }
        }
        pending_space = false;
        pending_break = false;
        if matches!(c, '\'' | '"' | '`') {
            copy_string(c, &mut chars, &mut out);
        } else {
            out.push(c);
        }
    }
    out
}

/// CSS without comments, with whitespace dropped next to `{ } ; , >` and collapsed to one
/// space elsewhere (a space before `:` can be a descendant combinator, so it stays), and
/// without the last `;` of each block.
pub(crate) fn minify_css(source: &str) -> String {
    fn tight(c: char) -> bool {
        matches!(c, '{' | '}' | ';' | ',' | '>')
    }
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    let mut pending_space = false;
    while let Some(c) = chars.next() {
        if c == '/' && chars.peek() == Some(&'*') {
            chars.next();
            let mut last = ' ';
            for c in chars.by_ref() {
                if last == '*' && c == '/' {
                    break;
                }
                last = c;
            }
            pending_space = true;
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if c == '}' && out.ends_with(';') {
            out.pop();
        }
        if pending_space
            && let Some(prev) = out.chars().next_back()
            && !tight(prev)
            && !tight(c)
        {
            out.push(' ');
        }
        pending_space = false;
        if matches!(c, '\'' | '"') {
            copy_string(c, &mut chars, &mut out);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_comments_go_and_strings_stay_verbatim() {
        let src =
            "var a = 'x // not a comment'; // a comment\n/* block\n */ var b = \"/* kept */\";";
        assert_eq!(
            minify_js(src),
            "var a='x // not a comment';var b=\"/* kept */\";"
        );
    }

    #[test]
    fn js_keeps_the_spaces_the_grammar_needs() {
        assert_eq!(minify_js("return  typeof x"), "return typeof x");
        assert_eq!(minify_js("a - -b; c + +d; e - f"), "a- -b;c+ +d;e-f");
        assert_eq!(minify_js("if (x) { y = 1; }"), "if(x){y=1;}");
        assert_eq!(minify_js("x = 'it\\'s'  +  1"), "x='it\\'s'+1");
    }

    #[test]
    fn js_keeps_line_breaks_where_a_statement_may_end() {
        assert_eq!(minify_js("a = b\nc()"), "a=b\nc()");
        assert_eq!(minify_js("a = b;\nc()"), "a=b;c()");
        assert_eq!(minify_js("f(a,\n  b)\n.g()"), "f(a,b).g()");
        assert_eq!(minify_js("return x\n}"), "return x}");
    }

    #[test]
    fn css_drops_comments_and_needless_spaces_but_not_descendant_combinators() {
        let src = "/* head */\n.a  .b :hover ,\n.c > .d {\n  color: red;\n  margin: 0 1px;\n}\n";
        assert_eq!(
            minify_css(src),
            ".a .b :hover,.c>.d{color: red;margin: 0 1px}"
        );
        assert_eq!(
            minify_css(".x::after { content: '  a;b  '; }"),
            ".x::after{content: '  a;b  '}"
        );
    }
}
