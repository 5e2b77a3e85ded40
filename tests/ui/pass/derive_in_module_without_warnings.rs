#![deny(warnings, missing_docs)]
//! A derived tree in a nested module compiles without any warning.

mod model {
    use penzai::prelude::*;

    /// A block.
    #[derive(Clone, Tree)]
    pub struct Block {
        /// Scale.
        pub scale: f32,
        /// Private configuration.
        #[tree(skip)]
        width: usize,
        /// Any layer.
        pub body: Option<AnyLayer>,
    }

    impl Block {
        /// A block of the given width.
        pub fn new(width: usize) -> Block {
            Block { scale: 1.0, width, body: None }
        }

        /// The width.
        pub fn width(&self) -> usize {
            self.width
        }
    }

    /// A generic pair.
    #[derive(Clone, Tree)]
    pub struct Pair<T> {
        /// Both sides.
        pub items: Vec<T>,
    }
}

fn main() {
    use penzai::prelude::*;
    let b = model::Block::new(4);
    assert_eq!(b.width(), 4);
    let p = model::Pair { items: vec![b] };
    let path: KeyPath = model::Pair::<model::Block>::path().items().at(0).scale().into();
    assert_eq!(path.to_string(), "items[0].scale");
    assert_eq!(p.get_at(&path).unwrap().downcast_ref::<f32>(), Some(&1.0));
}
