//! The bridge, tested from Rust with an embedded interpreter: what its pieces promise on their
//! own (the Python suite holds the clients to the contract over real HTTP).

use std::ffi::CStr;
use std::sync::Once;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::coroutine::Call;
use super::port::Port;
use crate::core::error::{Error, ErrorKind};
use crate::py::outcome::{outcome_of, CoreFuture};

/// The interpreter, with this build of the extension as `wawp_presence._native` and the
/// package's Python files on the path.
fn python<R>(f: impl FnOnce(Python<'_>) -> PyResult<R>) -> R {
    static READY: Once = Once::new();
    READY.call_once(|| {
        Python::initialize();
        Python::attach(|py| -> PyResult<()> {
            let native = PyModule::new(py, "_native")?;
            crate::py::register(&native)?;
            py.import("sys")?.getattr("modules")?.set_item("wawp_presence._native", native)?;
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/python");
            py.import("sys")?.getattr("path")?.call_method1("insert", (0, path))?;
            py.import("wawp_presence")?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("the package does not import: {e}"));
    });
    Python::attach(|py| f(py).unwrap_or_else(|e| panic!("{}", e.value(py))))
}

/// Runs `code` with `names` as its globals (which hold the only references to them); returns
/// the globals.
fn run<'py, const N: usize>(
    py: Python<'py>,
    code: &CStr,
    names: [(&str, Bound<'py, PyAny>); N],
) -> PyResult<Bound<'py, PyDict>> {
    let globals = PyDict::new(py);
    for (name, value) in names {
        globals.set_item(name, value)?;
    }
    py.run(code, Some(&globals), None)?;
    Ok(globals)
}

fn call(py: Python<'_>, fut: CoreFuture) -> PyResult<Bound<'_, PyAny>> {
    Ok(Bound::new(py, Call::new("Tests.call", fut))?.into_any())
}

#[test]
fn a_call_that_panics_ends_with_an_internal_error_instead_of_waiting_forever() {
    python(|py| {
        for fut in [
            outcome_of::<_, i64>(async { panic!("a bug at line {}", 42) }),
            outcome_of::<_, i64>(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                panic!("a later bug")
            }),
        ] {
            let globals = run(
                py,
                c"import asyncio\nfrom wawp_presence import InternalError\ntry:\n    asyncio.run(asyncio.wait_for(coro, 10))\nexcept InternalError as e:\n    caught = str(e)\n",
                [("coro", call(py, fut)?)],
            )?;
            let caught: String = globals.get_item("caught")?.map_or(Ok(String::new()), |c| c.extract())?;
            assert!(caught.contains("bug"), "{caught:?}");
        }
        Ok(())
    });
}

#[test]
fn a_call_suspends_its_task_and_ends_with_its_value() {
    python(|py| {
        let globals = run(
            py,
            c"import asyncio\nseen = []\nasync def main():\n    asyncio.get_running_loop().call_soon(seen.append, 'other')\n    return await coro\nvalue = asyncio.run(main())\n",
            [("coro", call(py, outcome_of(async { Ok::<_, Error>(7i64) }))?)],
        )?;
        assert_eq!(globals.get_item("value")?.map(|v| v.extract::<i64>()).transpose()?, Some(7));
        // The other callback ran before the call ended: the call gave the loop a turn.
        assert_eq!(globals.get_item("seen")?.map(|v| v.len()).transpose()?, Some(1));
        Ok(())
    });
}

#[test]
fn an_error_of_the_core_is_raised_as_its_class() {
    python(|py| {
        let fut = outcome_of::<_, i64>(async { Err(Error::new(ErrorKind::Timeout, "slow")) });
        let globals = run(
            py,
            c"import asyncio\nfrom wawp_presence import RequestTimeout\ntry:\n    asyncio.run(coro)\nexcept RequestTimeout as e:\n    caught = e.message\n",
            [("coro", call(py, fut)?)],
        )?;
        assert_eq!(globals.get_item("caught")?.map(|c| c.extract::<String>()).transpose()?.as_deref(), Some("slow"));
        Ok(())
    });
}

#[test]
fn a_coroutine_never_awaited_warns_and_one_closed_does_not() {
    python(|py| {
        let code = c"import gc, warnings\nwith warnings.catch_warnings(record=True) as caught:\n    warnings.simplefilter('always')\n    closed.close()\n    del closed, coro\n    gc.collect()\nmessages = [str(w.message) for w in caught if w.category is RuntimeWarning]\n";
        let globals = run(
            py,
            code,
            [
                ("coro", call(py, outcome_of(async { Ok::<_, Error>(1i64) }))?),
                (
                    "closed",
                    Bound::new(py, Call::new("Tests.closed", outcome_of(async { Ok::<_, Error>(1i64) })))?.into_any(),
                ),
            ],
        )?;
        let messages: Vec<String> = globals.get_item("messages")?.map_or(Ok(Vec::new()), |m| m.extract())?;
        assert_eq!(messages, vec!["coroutine 'Tests.call' was never awaited".to_owned()]);
        Ok(())
    });
}

#[test]
fn a_burst_of_results_wakes_the_loop_once() {
    python(|py| {
        let event_loop = py.import("asyncio")?.call_method0("new_event_loop")?;
        let port = Port::attach(&event_loop)?;
        let shared = port.get().shared();
        // From another thread, as the runtime delivers: 100 results, before the loop looks.
        let pushing = std::sync::Arc::clone(&shared);
        py.detach(|| {
            std::thread::spawn(move || {
                for _ in 0..100 {
                    pushing.run_on_loop(Box::new(|_| Ok(())));
                }
            })
            .join()
        })
        .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("the pushing thread failed"))?;
        let globals = run(
            py,
            c"import selectors\nsel = selectors.DefaultSelector()\nsel.register(reader, selectors.EVENT_READ)\nready = len(sel.select(0))\nbytes_waiting = len(reader.recv(4096))\n",
            [("reader", port.get().reader().bind(py).clone())],
        )?;
        assert_eq!(globals.get_item("ready")?.map(|v| v.extract::<usize>()).transpose()?, Some(1));
        assert_eq!(globals.get_item("bytes_waiting")?.map(|v| v.extract::<usize>()).transpose()?, Some(1));
        event_loop.call_method0("close")?;
        Ok(())
    });
}

#[test]
fn a_call_with_task_locals_does_its_python_work_on_the_loops_thread_in_the_callers_context() {
    python(|py| {
        // The work reports from the runtime through the port, as get_many's progress does, and
        // pyo3-async-runtimes completes the call: both must happen on the loop's thread.
        let make: super::WithLocals = Box::new(|locals, port| {
            Box::pin(async move {
                port.run_on_loop(Box::new(move |py| {
                    let report = py.import("__main__")?.getattr("report")?;
                    locals.context(py).call_method1("run", (report,))?;
                    Ok(())
                }));
                Ok(Box::new(|py: Python<'_>| Ok(py.None())) as crate::py::outcome::Convert)
            })
        });
        let coro = Bound::new(py, Call::with_locals("Tests.with_locals", make))?.into_any();
        let globals = run(
            py,
            c"import asyncio, contextvars, threading, __main__\nwho = contextvars.ContextVar('who', default='nobody')\nseen = []\n__main__.report = lambda: seen.append((threading.get_ident(), who.get()))\nasync def main():\n    who.set('the caller')\n    return await coro\nresult = asyncio.run(main())\nloop_thread = threading.get_ident()\n",
            [("coro", coro)],
        )?;
        let seen: Vec<(u64, String)> = globals.get_item("seen")?.map_or(Ok(Vec::new()), |s| s.extract())?;
        let loop_thread: u64 = globals.get_item("loop_thread")?.map_or(Ok(0), |t| t.extract())?;
        assert_eq!(seen, vec![(loop_thread, "the caller".to_owned())]);
        assert!(globals.get_item("result")?.is_some_and(|r| r.is_none()));
        Ok(())
    });
}
