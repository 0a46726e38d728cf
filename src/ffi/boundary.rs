//! The panic boundary every exported function runs in.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Run `f`, turning a panic into `on_panic`.
pub(crate) fn boundary<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// Run `f` on a live (non-poisoned) engine; a panic poisons it.
macro_rules! with_engine {
    ($engine:expr, $on_err:expr, |$e:ident| $body:expr) => {{
        let ptr = $engine;
        $crate::ffi::boundary::boundary($on_err, || {
            // SAFETY: the caller passes a pointer from `fior_engine_new` that it has not freed,
            // and uses it from one thread at a time (the XS handle is not shared across
            // threads: CLONE_SKIP).
            let Some($e) = (unsafe { ptr.as_mut() }) else { return $on_err };
            if $e.poisoned {
                return $on_err;
            }
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body));
            match result {
                Ok(v) => v,
                Err(_) => {
                    $e.poisoned = true;
                    $on_err
                }
            }
        })
    }};
}

pub(crate) use with_engine;
