//! What the end-to-end test binaries share: [`helpers`] starts resetd through its one boot
//! path on a fresh database (`api/`, `timing/`); `process/` and `browser/` run it as a process
//! or beside a browser.

pub mod helpers;
