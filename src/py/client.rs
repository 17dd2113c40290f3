//! `PresenceClient` and `AsyncPresenceClient`. Both are thin: every method parses its arguments,
//! builds the core's future, and `ClientBase::run` either blocks on it (sync) or hands it to
//! asyncio (async). There is no second copy of any operation.

use std::future::Future;
use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};
use pyo3::IntoPyObjectExt;

use super::aio::Done;
use super::args::{seconds, valid_chat_ids, ChatIdArg, Text};
use super::errors::{to_pyerr, IntoPyResult};
use super::flavor::Flavor;
use super::hold::{refresh_pace, PresenceBlock};
use super::many::{self, ManyArgs};
use super::models::PyChatPresence;
use super::options::{config_from, Options};
use super::outcome::PyNone;
use super::watch::Watch;
use crate::core::client::{check_set, settable_state, Client, Held, ONLINE_REFRESH, TYPING_REFRESH};
use crate::core::error::{Error, ErrorKind};
use crate::core::routes::Backend;
use crate::core::secret::Secret;
use crate::core::watch::{Watcher, RESUBSCRIBE_EVERY};

#[pyclass(module = "wawp_presence._native", subclass, frozen)]
pub struct ClientBase {
    inner: Arc<Client>,
    flavor: Flavor,
}

impl ClientBase {
    fn run<'py, T, F>(&self, py: Python<'py>, name: &'static str, fut: F) -> PyResult<Bound<'py, PyAny>>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
        T: for<'a> IntoPyObject<'a> + Send + 'static,
    {
        self.flavor.run(py, name, fut)
    }

    fn client(&self) -> Arc<Client> {
        Arc::clone(&self.inner)
    }

    /// The keyword arguments that rebuild this client (pickling); they include its credentials,
    /// as the pickled object must work where it is unpickled.
    fn config_kwargs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.inner.config();
        let d = PyDict::new(py);
        d.set_item("backend", c.backend.as_str())?;
        d.set_item("base_url", &c.base_url)?;
        match c.backend {
            Backend::Wawp => {
                d.set_item("instance_id", c.instance_id.as_deref())?;
                d.set_item("access_token", c.access_token.as_ref().map(Secret::expose))?;
            }
            Backend::Waha => {
                d.set_item("session", &c.session)?;
                d.set_item("api_key", c.api_key.as_ref().map(Secret::expose))?;
            }
        }
        d.set_item("timeout", c.timeout.as_secs_f64())?;
        d.set_item("max_retries", c.max_retries)?;
        d.set_item("rate_limit", c.rate_limit)?;
        d.set_item("user_agent", &c.user_agent)?;
        d.set_item("max_connections", c.max_connections)?;
        Ok(d)
    }
}

#[pymethods]
impl ClientBase {
    /// One chat's presence. With `wait` > 0, an answer without data is asked again until data
    /// comes or `wait` seconds pass; the last answer is returned either way.
    #[pyo3(signature = (chat_id, *, wait=0.0))]
    fn get<'py>(&self, py: Python<'py>, chat_id: ChatIdArg, wait: f64) -> PyResult<Bound<'py, PyAny>> {
        let wait = seconds("wait", wait)?;
        // The id was checked as the argument was read, so a bad one raises at the call, even on
        // the async client.
        let chat_id = chat_id.0;
        let client = self.client();
        self.run(py, "AsyncPresenceClient.get", async move { client.get(&chat_id, wait).await.map(PyChatPresence) })
    }

    /// Sets your own presence: online/offline globally, typing/recording/paused in one chat.
    #[pyo3(signature = (state, *, chat_id=None))]
    fn set<'py>(
        &self,
        py: Python<'py>,
        state: &Bound<'py, PyAny>,
        chat_id: Option<ChatIdArg>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !state.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err("a presence must be a PresenceState or a string"));
        }
        let state = settable_state(&state.extract::<Text>()?.0).py_result(py)?;
        let chat_id = chat_id.map(|c| c.0);
        let client = self.client();
        // Checked at the call, so the async client raises before anything is awaited.
        check_set(state, chat_id.is_some()).py_result(py)?;
        self.run(
            py,
            "AsyncPresenceClient.set",
            async move { client.set(state, chat_id.as_ref()).await.map(|()| PyNone) },
        )
    }

    fn subscribe<'py>(&self, py: Python<'py>, chat_id: ChatIdArg) -> PyResult<Bound<'py, PyAny>> {
        let chat_id = chat_id.0;
        let client = self.client();
        self.run(py, "AsyncPresenceClient.subscribe", async move { client.subscribe(&chat_id).await.map(|()| PyNone) })
    }

    /// Every chat the session is subscribed to.
    fn get_all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client();
        self.run(py, "AsyncPresenceClient.get_all", async move {
            client.get_all().await.map(|chats| chats.into_iter().map(PyChatPresence).collect::<Vec<_>>())
        })
    }

    /// Many chats at once, at most `concurrency` in flight (and never more than the client's
    /// `max_connections`), results in input order.
    #[pyo3(signature = (chat_ids, *, concurrency=None, return_exceptions=false, wait=0.0, progress=None))]
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        chat_ids: &Bound<'py, PyAny>,
        concurrency: Option<&Bound<'py, PyAny>>,
        return_exceptions: bool,
        wait: f64,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = ManyArgs { chat_ids, concurrency, return_exceptions, wait, progress };
        many::get_many(py, self.client(), self.flavor, args)
    }

    /// Subscribes to the chats, then polls every `interval` seconds and yields a
    /// `PresenceChange` for each participant whose state or last-seen time changed (the first
    /// sight of each counts, with `previous=None`); subscriptions are renewed every
    /// `resubscribe` seconds. Runs until the loop is left.
    #[pyo3(signature = (chat_ids, *, interval=5.0, resubscribe=RESUBSCRIBE_EVERY.as_secs_f64()))]
    fn watch(&self, py: Python<'_>, chat_ids: &Bound<'_, PyAny>, interval: f64, resubscribe: f64) -> PyResult<Watch> {
        let ids = valid_chat_ids(chat_ids)?;
        let watcher =
            Watcher::new(self.client(), ids, seconds("interval", interval)?, seconds("resubscribe", resubscribe)?)
                .py_result(py)?;
        Ok(Watch::new(watcher, self.flavor))
    }

    /// A context manager showing "typing..." in a chat while its body runs, re-sent every
    /// `refresh` seconds (None: once) so a long body keeps it showing.
    #[pyo3(signature = (chat_id, *, refresh=Some(TYPING_REFRESH.as_secs_f64())))]
    fn typing(&self, chat_id: ChatIdArg, refresh: Option<f64>) -> PyResult<PresenceBlock> {
        let refresh = refresh_pace("refresh", refresh)?;
        Ok(PresenceBlock::new(self.client(), Held::Typing(chat_id.0), self.flavor, refresh))
    }

    /// A context manager that sets the session online on enter and every `interval` seconds
    /// while its body runs, and offline on exit, also when the body raises. A failed refresh is
    /// logged at WARNING, never raised into the body.
    #[pyo3(signature = (interval=ONLINE_REFRESH.as_secs_f64()))]
    fn keep_online(&self, interval: f64) -> PyResult<PresenceBlock> {
        let interval = refresh_pace("interval", Some(interval))?;
        Ok(PresenceBlock::new(self.client(), Held::Online, self.flavor, interval))
    }

    /// A client for a self-hosted WAHA server.
    #[classmethod]
    #[pyo3(signature = (base_url, session=None, api_key=None, **options))]
    fn waha<'py>(
        cls: &Bound<'py, PyType>,
        base_url: &Bound<'py, PyAny>,
        session: Option<&Bound<'py, PyAny>>,
        api_key: Option<&Bound<'py, PyAny>>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kwargs = options.map_or_else(|| Ok(PyDict::new(cls.py())), |o| o.copy())?;
        kwargs.set_item("backend", "waha")?;
        kwargs.set_item("base_url", base_url)?;
        kwargs.set_item("session", session)?;
        kwargs.set_item("api_key", api_key)?;
        cls.call((), Some(&kwargs))
    }

    /// A Wawp client from `WAWP_INSTANCE_ID`, `WAWP_ACCESS_TOKEN` and, when set, `WAWP_BASE_URL`.
    #[classmethod]
    #[pyo3(signature = (**options))]
    fn from_env<'py>(cls: &Bound<'py, PyType>, options: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let environ = py.import("os")?.getattr("environ")?;
        let var = |name: &str| -> PyResult<Option<String>> {
            let value: Option<String> = environ.call_method1("get", (name,))?.extract()?;
            Ok(value.filter(|v| !v.trim().is_empty()))
        };
        let required = |name: &str| -> PyResult<String> {
            var(name)?.ok_or_else(|| {
                to_pyerr(py, Error::new(ErrorKind::Configuration, format!("environment variable {name} is not set")))
            })
        };
        let kwargs = options.map_or_else(|| Ok(PyDict::new(py)), |o| o.copy())?;
        kwargs.set_item("instance_id", required("WAWP_INSTANCE_ID")?)?;
        kwargs.set_item("access_token", required("WAWP_ACCESS_TOKEN")?)?;
        if let (Some(url), false) = (var("WAWP_BASE_URL")?, kwargs.contains("base_url")?) {
            kwargs.set_item("base_url", url)?;
        }
        cls.call((), Some(&kwargs))
    }

    /// Closes the client's connections; later calls raise ClientClosedError.
    fn close(&self) {
        self.inner.close();
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.config().backend.as_str()
    }

    #[getter]
    fn base_url(&self) -> &str {
        &self.inner.config().base_url
    }

    #[getter]
    fn session(&self) -> Option<&str> {
        (self.inner.config().backend == Backend::Waha).then(|| self.inner.config().session.as_str())
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let me = slf.get();
        let c = me.inner.config();
        let r = |s: &str| -> PyResult<String> { Ok(PyString::new(py, s).repr()?.to_cow()?.into_owned()) };
        let mut s =
            format!("{}(backend={}, base_url={}", slf.get_type().qualname()?, r(c.backend.as_str())?, r(&c.base_url)?);
        match c.backend {
            Backend::Wawp => s.push_str(&format!(", instance_id={}", r(c.instance_id.as_deref().unwrap_or(""))?)),
            Backend::Waha => s.push_str(&format!(", session={}", r(&c.session)?)),
        }
        if me.inner.is_closed() {
            s.push_str(", closed=True");
        }
        s.push(')');
        Ok(s)
    }

    fn __getnewargs_ex__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        Ok((PyTuple::empty(py), self.config_kwargs(py)?))
    }
}

/// Both public classes: the shared constructor plus each one's own context-manager methods.
/// (A macro, because `#[pymethods]` blocks cannot be generic and the signature must be written
/// once.)
macro_rules! client_class {
    ($name:ident, $flavor:expr, { $($extra:tt)* }) => {
        #[pymethods]
        impl $name {
            /// `instance_id` and `access_token` for Wawp (the default backend); `backend="waha"`
            /// with `base_url`, `session` and `api_key` for a WAHA server (or use `waha(...)`).
            #[new]
            #[pyo3(signature = (instance_id=None, access_token=None, *, base_url=None, timeout=10.0,
                                max_retries=None, rate_limit=None, user_agent=None,
                                backend=Text("wawp".to_owned()), session=None, api_key=None,
                                max_connections=None))]
            #[allow(clippy::too_many_arguments)]
            fn new<'py>(
                py: Python<'py>,
                instance_id: Option<Text>,
                access_token: Option<Text>,
                base_url: Option<Text>,
                timeout: f64,
                max_retries: Option<Bound<'py, PyAny>>,
                rate_limit: Option<f64>,
                user_agent: Option<Text>,
                backend: Text,
                session: Option<Text>,
                api_key: Option<Text>,
                max_connections: Option<Bound<'py, PyAny>>,
            ) -> PyResult<PyClassInitializer<Self>> {
                let options = Options {
                    instance_id, access_token, backend, base_url, session, api_key, timeout,
                    max_retries, rate_limit, user_agent, max_connections,
                };
                let inner = Client::new(config_from(options, py)?).py_result(py)?;
                let base = ClientBase { inner: Arc::new(inner), flavor: $flavor };
                Ok(PyClassInitializer::from(base).add_subclass(Self {}))
            }

            $($extra)*
        }
    };
}

/// A presence client whose methods block (with the GIL released) until the answer is in.
#[pyclass(module = "wawp_presence", extends = ClientBase, frozen)]
pub struct PresenceClient {}

client_class!(PresenceClient, Flavor::Blocking, {
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(slf: &Bound<'_, Self>, _exc: &Bound<'_, PyTuple>) -> bool {
        slf.as_super().get().close();
        false
    }
});

/// A presence client whose methods return awaitables, for asyncio.
#[pyclass(module = "wawp_presence", extends = ClientBase, frozen)]
pub struct AsyncPresenceClient {}

client_class!(AsyncPresenceClient, Flavor::Asyncio, {
    fn __aenter__(slf: Bound<'_, Self>) -> Done {
        Done::new(slf.into_any().unbind())
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__(slf: &Bound<'_, Self>, _exc: &Bound<'_, PyTuple>) -> PyResult<Done> {
        slf.as_super().get().close();
        Ok(Done::new(false.into_py_any(slf.py())?))
    }

    /// Closes the client at once; the coroutine it returns is already done, so both
    /// `await aclient.close()` and a plain `aclient.close()` work.
    fn close(slf: &Bound<'_, Self>) -> Done {
        slf.as_super().get().close();
        Done::new(slf.py().None())
    }

    /// The same as `close()`, under httpx's name.
    fn aclose(slf: &Bound<'_, Self>) -> Done {
        Self::close(slf)
    }
});

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ClientBase>()?;
    m.add_class::<PresenceClient>()?;
    m.add_class::<AsyncPresenceClient>()?;
    Ok(())
}
