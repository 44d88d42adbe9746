//! Sub-views of a pane as a stack: the bottom is the pane's main view, a drill-down pushes the
//! next one, `esc` goes back one. Every pane with sub-views keeps one (`ViewStack<ItsViewEnum>`)
//! and hands keys and drawing to the view on top.

/// A stack of views that is never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewStack<V> {
    root: V,
    above: Vec<V>,
}

impl<V> ViewStack<V> {
    pub fn new(root: V) -> Self {
        ViewStack {
            root,
            above: Vec::new(),
        }
    }

    /// The view showing now.
    pub fn top(&self) -> &V {
        self.above.last().unwrap_or(&self.root)
    }

    pub fn top_mut(&mut self) -> &mut V {
        self.above.last_mut().unwrap_or(&mut self.root)
    }

    /// Drill down into `view`.
    pub fn push(&mut self, view: V) {
        self.above.push(view);
    }

    /// Go back one view (`esc`); false when already at the main view, so the key can mean
    /// something else there.
    pub fn back(&mut self) -> bool {
        self.above.pop().is_some()
    }

    /// Back to the main view.
    pub fn reset(&mut self) {
        self.above.clear();
    }

    /// How many views are open, the main one included.
    pub fn depth(&self) -> usize {
        self.above.len() + 1
    }
}

impl<V: Default> Default for ViewStack<V> {
    fn default() -> Self {
        ViewStack::new(V::default())
    }
}

#[cfg(test)]
mod tests {
    use super::ViewStack;

    #[test]
    fn esc_goes_back_one_view_and_never_past_the_main_one() {
        let mut views = ViewStack::new("main");
        views.push("detail");
        views.push("more");
        assert_eq!((*views.top(), views.depth()), ("more", 3));
        assert!(views.back());
        assert_eq!(*views.top(), "detail");
        assert!(views.back());
        assert!(!views.back(), "the main view stays");
        assert_eq!(*views.top(), "main");
        views.push("detail");
        views.reset();
        assert_eq!(views.depth(), 1);
    }
}
