//! `wawp_presence.testing.FakeServer`: the Rust fake server (`crate::fake`) as a Python object,
//! running on the shared runtime so it answers while the calling thread blocks in a client call.

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use super::args::{int_in, seconds, Text};
use super::runtime::PerProcess;
use crate::core::chat_id;
use crate::fake::{Backend, Edition, FakeConfig, FakeServer, Fault, DEFAULT_REQUEST_LOG, SESSION_STATUSES};

use super::fake_args::{body_bytes, last_seen_number, request_dict, script_steps};

/// Fake servers run on a runtime of their own: they must answer whoever asks (another process,
/// urllib), not only while a client call drives the client's runtime.
static FAKE_RUNTIME: PerProcess<tokio::runtime::Runtime> = PerProcess::new();

fn fake_runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    FAKE_RUNTIME.get_or_build(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("wawp-presence-fake")
            .build()
            .map_err(|e| PyOSError::new_err(format!("cannot start the fake server's runtime: {e}")))
    })
}

#[pyclass(module = "wawp_presence.testing", name = "FakeServer", frozen)]
pub struct PyFakeServer {
    server: FakeServer,
}

/// Chat ids given to the fake are normalised the way the client normalises them, so a test can
/// store `"+44 7441 429009"` and read `"447441429009@c.us"`; ids the client would refuse are
/// kept as given.
fn key(chat_id: &str) -> String {
    chat_id::normalize_lenient(chat_id)
}

#[pymethods]
impl PyFakeServer {
    // `session_wait=0.05` is `DEFAULT_SESSION_WAIT`, written as a literal so that the signature
    // (and the stubs stubtest holds to it) show the value.
    #[new]
    #[pyo3(signature = (backend=Text("wawp".to_owned()), *, host=Text("127.0.0.1".to_owned()), port=None,
                        instance_id=None, access_token=None, api_key=None, session=Text("default".to_owned()),
                        engine=Text("NOWEB".to_owned()), request_log=None, latency=0.0,
                        edition=Text("plus".to_owned()), session_wait=0.05))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        backend: Text,
        host: Text,
        port: Option<&Bound<'_, PyAny>>,
        instance_id: Option<Text>,
        access_token: Option<Text>,
        api_key: Option<Text>,
        session: Text,
        engine: Text,
        request_log: Option<&Bound<'_, PyAny>>,
        latency: f64,
        edition: Text,
        session_wait: f64,
    ) -> PyResult<Self> {
        let backend: Backend =
            backend.0.trim().parse().map_err(|_| {
                PyValueError::new_err(format!("backend must be \"wawp\" or \"waha\", not {:?}", backend.0))
            })?;
        let edition: Edition = edition.0.parse().map_err(PyValueError::new_err)?;
        if edition == Edition::Core && backend != Backend::Waha {
            return Err(PyValueError::new_err("edition=\"core\" is a WAHA edition: use it with backend=\"waha\""));
        }
        let port = port.map(|p| int_in(p, "port", 0, u16::MAX.into())).transpose()?.unwrap_or(0);
        let request_log = match request_log {
            Some(n) => int_in(n, "request_log", 0, i64::from(u32::MAX))?,
            None => DEFAULT_REQUEST_LOG as i64,
        };
        let defaults = FakeConfig::default();
        let config = FakeConfig {
            backend,
            host: host.0,
            port: u16::try_from(port).unwrap_or(0),
            instance_id: instance_id.map_or(defaults.instance_id, Text::into_inner),
            access_token: access_token.map_or(defaults.access_token, Text::into_inner),
            api_key: api_key.map(Text::into_inner),
            session: session.0,
            edition,
            engine: engine.0,
            session_wait: seconds("session_wait", session_wait)?,
            request_log: usize::try_from(request_log).unwrap_or(DEFAULT_REQUEST_LOG),
            latency: seconds("latency", latency)?,
        };
        let server = FakeServer::start_on(config, fake_runtime()?.handle())
            .map_err(|e| PyOSError::new_err(format!("the fake server could not start: {e}")))?;
        Ok(PyFakeServer { server })
    }

    /// `http://127.0.0.1:PORT`
    #[getter]
    fn url(&self) -> String {
        self.server.url()
    }

    #[getter]
    fn port(&self) -> u16 {
        self.server.port()
    }

    #[getter]
    fn host(&self) -> &str {
        &self.server.config().host
    }

    #[getter]
    fn backend(&self) -> &'static str {
        self.server.config().backend.as_str()
    }

    /// The Wawp instance id the fake accepts (None for a WAHA fake).
    #[getter]
    fn instance_id(&self) -> Option<&str> {
        self.is_wawp().then(|| self.server.config().instance_id.as_str())
    }

    /// The Wawp access token the fake accepts (None for a WAHA fake).
    #[getter]
    fn access_token(&self) -> Option<&str> {
        self.is_wawp().then(|| self.server.config().access_token.as_str())
    }

    /// The WAHA API key the fake requires, or None when it checks none.
    #[getter]
    fn api_key(&self) -> Option<&str> {
        self.server.config().api_key.as_deref()
    }

    #[getter]
    fn session(&self) -> &str {
        &self.server.config().session
    }

    #[getter]
    fn engine(&self) -> &str {
        &self.server.config().engine
    }

    /// `"plus"` or `"core"` (WAHA's editions; a Wawp fake is `"plus"`).
    #[getter]
    fn edition(&self) -> &'static str {
        self.server.config().edition.as_str()
    }

    /// Seconds a request waits for a session that is not WORKING before it is refused.
    #[getter]
    fn session_wait(&self) -> f64 {
        self.server.config().session_wait.as_secs_f64()
    }

    /// The WhatsApp session's status: `"WORKING"` until `set_session_status` changes it.
    #[getter]
    fn session_status(&self) -> String {
        self.server.session_status()
    }

    /// Stores what reading `chat_id` answers. `presence` is kept as given (any engine word);
    /// `last_seen` is a datetime or Unix seconds; `participant` adds or replaces one member of a
    /// group; the next `empty_reads` reads answer an empty list first. Ends the chat's script.
    #[pyo3(signature = (chat_id, presence, last_seen=None, *, participant=None, empty_reads=None))]
    fn set_presence(
        &self,
        chat_id: Text,
        presence: Text,
        last_seen: Option<&Bound<'_, PyAny>>,
        participant: Option<Text>,
        empty_reads: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let empty_reads = empty_reads.map(|n| int_in(n, "empty_reads", 0, u32::MAX.into())).transpose()?.unwrap_or(0);
        let last_seen = last_seen_number(last_seen)?;
        let participant = participant.map(|p| key(&p.0));
        let empty_reads = u32::try_from(empty_reads).unwrap_or(u32::MAX);
        self.server.set_presence(&key(&chat_id.0), &presence.0, last_seen, participant.as_deref(), empty_reads);
        Ok(())
    }

    /// Plays a script on `chat_id`: `(after_seconds, state)` or `(after_seconds, state,
    /// last_seen)` steps, timed from this call and in time order; a read answers the step in
    /// force, or before the first step what it answered before. Replaces the chat's script.
    fn script_presence(&self, chat_id: Text, steps: &Bound<'_, PyAny>) -> PyResult<()> {
        let steps = script_steps(steps)?;
        self.server.script_presence(&key(&chat_id.0), steps).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// Seconds every request waits before it is answered.
    #[getter]
    fn latency(&self) -> f64 {
        self.server.latency().as_secs_f64()
    }

    #[setter]
    fn set_latency(&self, latency: f64) -> PyResult<()> {
        self.server.set_latency(seconds("latency", latency)?);
        Ok(())
    }

    /// Scripts the next `times` answers, whatever their route: a `status` (with `body`,
    /// `headers`, `retry_after`), a `delay` before answering, a dropped connection, a body that
    /// is not JSON, or no answer at all.
    #[pyo3(signature = (status=None, *, body=None, headers=None, retry_after=None, delay=None,
                        drop=false, malformed=false, hang=false, times=None))]
    #[allow(clippy::too_many_arguments)]
    fn fail_next(
        &self,
        status: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        headers: Option<&Bound<'_, PyAny>>,
        retry_after: Option<&Bound<'_, PyAny>>,
        delay: Option<f64>,
        drop: bool,
        malformed: bool,
        hang: bool,
        times: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let delay = delay.map(|d| seconds("delay", d)).transpose()?;
        let times = times.map(|n| int_in(n, "times", 0, 1_000_000)).transpose()?.unwrap_or(1);
        let times = u32::try_from(times).unwrap_or(1);
        let status = status
            .filter(|s| !s.is_none())
            .map(|s| int_in(s, "status (an HTTP status code)", 100, 599))
            .transpose()?
            .map(|s| u16::try_from(s).unwrap_or(500));
        let chosen = [status.is_some(), drop, malformed, hang].iter().filter(|b| **b).count();
        if chosen > 1 {
            return Err(PyValueError::new_err("choose one of status=, drop=True, malformed=True, hang=True"));
        }
        let fault = if let Some(status) = status {
            let mut pairs = Vec::new();
            if let Some(h) = headers {
                for item in h.call_method0("items")?.try_iter()? {
                    let (k, v): (Text, Text) = item?.extract()?;
                    pairs.push((k.0, v.0));
                }
            }
            if let Some(r) = retry_after {
                pairs.push(("Retry-After".to_owned(), r.str()?.to_cow()?.into_owned()));
            }
            Fault::Status { status, body: body.map(body_bytes).transpose()?, headers: pairs, delay }
        } else if drop {
            Fault::Drop
        } else if malformed {
            Fault::Malformed
        } else if hang {
            Fault::Hang
        } else if let Some(d) = delay {
            Fault::Delay(d)
        } else {
            return Err(PyValueError::new_err(
                "fail_next needs status=, delay=, drop=True, malformed=True or hang=True",
            ));
        };
        self.server.fail_next(fault, times);
        Ok(())
    }

    /// The most recent requests received (at most `request_log`, 10,000 by default), oldest
    /// first, as dicts: method, path (raw), query, headers (lowercase names), body (bytes),
    /// json (the parsed body, or None).
    #[getter]
    fn requests<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let json = py.import("json")?;
        let items = self.server.requests().into_iter().map(|r| request_dict(&json, r)).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn clear_requests(&self) {
        self.server.clear_requests();
    }

    /// How many requests the log keeps.
    #[getter]
    fn request_log(&self) -> usize {
        self.server.config().request_log
    }

    /// Connections and requests seen, as a dict: `connections_opened` (since start or reset),
    /// `open_connections` and `peak_open_connections`, `in_flight` and `peak_in_flight`.
    #[getter]
    fn traffic<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = self.server.traffic();
        let d = PyDict::new(py);
        d.set_item("connections_opened", t.connections_opened)?;
        d.set_item("open_connections", t.open_connections)?;
        d.set_item("peak_open_connections", t.peak_open_connections)?;
        d.set_item("in_flight", t.in_flight)?;
        d.set_item("peak_in_flight", t.peak_in_flight)?;
        Ok(d)
    }

    /// Requests being handled now: received and not yet answered.
    #[getter]
    fn requests_in_flight(&self) -> u64 {
        self.server.traffic().in_flight
    }

    /// The most requests in flight at once since start or `reset()`.
    #[getter]
    fn max_requests_in_flight(&self) -> u64 {
        self.server.traffic().peak_in_flight
    }

    /// The last global presence set (`"online"` / `"offline"`), or None.
    #[getter]
    fn own_presence(&self) -> Option<String> {
        self.server.own_presence()
    }

    /// The last per-chat state set in each chat (`typing`, `recording`, `paused`).
    #[getter]
    fn chat_states<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.server.chat_states() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// Subscribed chat ids, in the order they were first subscribed (a read subscribes too).
    #[getter]
    fn subscriptions(&self) -> Vec<String> {
        self.server.subscriptions()
    }

    /// WAHA's session statuses: `"STOPPED"` answers 404 (the session is not running);
    /// `"STARTING"`, `"SCAN_QR_CODE"` and `"FAILED"` answer 422 session-not-ready after
    /// `session_wait` seconds; `"WORKING"` serves. Any other word is a ValueError.
    fn set_session_status(&self, status: Text) -> PyResult<()> {
        let word = status.0.trim().to_ascii_uppercase();
        if !SESSION_STATUSES.contains(&word.as_str()) {
            return Err(PyValueError::new_err(format!(
                "status must be one of {}, not {:?}",
                SESSION_STATUSES.join(", "),
                status.0
            )));
        }
        self.server.set_session_status(&word);
        Ok(())
    }

    /// Forgets presences, scripts, faults, requests and subscriptions, sets the latency back to
    /// the constructor's and the session to WORKING (open connections stay counted).
    fn reset(&self) {
        self.server.reset();
    }

    /// Stops the server, ending open connections. Idempotent.
    fn stop(&self) {
        self.server.shutdown();
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> bool {
        self.server.shutdown();
        false
    }

    fn __repr__(&self) -> String {
        match self.server.config().backend {
            Backend::Waha => {
                format!("FakeServer(backend={:?}, edition={:?}, url={:?})", self.backend(), self.edition(), self.url())
            }
            Backend::Wawp => format!("FakeServer(backend={:?}, url={:?})", self.backend(), self.url()),
        }
    }
}

impl PyFakeServer {
    fn is_wawp(&self) -> bool {
        self.server.config().backend == Backend::Wawp
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFakeServer>()
}
