//! The panic boundary every exported function runs in.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Run `f`, turning a panic into `on_panic`.
pub(crate) fn boundary<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// Run `body` on a live engine. A NULL handle gives `$on_null`, a handle poisoned by an earlier
/// panic gives `$on_poisoned`, and a panic in `body` gives `$on_panic` and poisons the handle.
/// Functions that return a result code pass `NullArgument`, `Poisoned` and `Panic`; the others
/// a neutral value for all three.
macro_rules! with_engine {
    ($engine:expr, $on_null:expr, $on_poisoned:expr, $on_panic:expr, |$e:ident| $body:expr) => {{
        let ptr = $engine;
        $crate::ffi::boundary::boundary($on_panic, || {
            // SAFETY: the caller passes a pointer from `fior_engine_new` that it has not freed,
            // or NULL, and uses it from one thread at a time (the XS handle is not shared across
            // threads: CLONE_SKIP).
            let Some($e) = (unsafe { ptr.as_mut() }) else { return $on_null };
            if $e.poisoned {
                return $on_poisoned;
            }
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body));
            match result {
                Ok(v) => v,
                Err(_) => {
                    $e.poisoned = true;
                    $on_panic
                }
            }
        })
    }};
    ($engine:expr, $neutral:expr, |$e:ident| $body:expr) => {
        $crate::ffi::boundary::with_engine!($engine, $neutral, $neutral, $neutral, |$e| $body)
    };
}

/// `with_engine!` for functions that return a `FiorResult`.
macro_rules! with_engine_result {
    ($engine:expr, |$e:ident| $body:expr) => {
        $crate::ffi::boundary::with_engine!(
            $engine,
            $crate::ffi::FiorResult::NullArgument,
            $crate::ffi::FiorResult::Poisoned,
            $crate::ffi::FiorResult::Panic,
            |$e| $body
        )
    };
}

pub(crate) use {with_engine, with_engine_result};
