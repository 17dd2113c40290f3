//! The constructor's options, as both client classes (and unpickling) take them.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::args::{int_in, seconds, Text};
use super::errors::IntoPyResult;
use crate::core::client::{ClientConfig, DEFAULT_SESSION, MAX_MAX_CONNECTIONS};
use crate::core::routes::Backend;

/// The constructor options, shared by both classes and by pickling.
pub struct Options<'py> {
    pub instance_id: Option<Text>,
    pub access_token: Option<Text>,
    pub backend: Text,
    pub base_url: Option<Text>,
    pub session: Option<Text>,
    pub api_key: Option<Text>,
    pub timeout: f64,
    pub max_retries: Option<Bound<'py, PyAny>>,
    pub rate_limit: Option<f64>,
    pub user_agent: Option<Text>,
    pub max_connections: Option<Bound<'py, PyAny>>,
}

/// The client's configuration from the constructor's options (each checked, a bad one a
/// `ValueError` naming it).
pub fn config_from(o: Options<'_>, py: Python<'_>) -> PyResult<ClientConfig> {
    let backend: Backend = o.backend.0.parse().py_result(py)?;
    let text = |t: Option<Text>| t.map(Text::into_inner);
    let (base_url, session) = (text(o.base_url), text(o.session).map(|s| s.trim().to_owned()));
    let mut config = match backend {
        Backend::Wawp => {
            if o.api_key.is_some() {
                return Err(PyValueError::new_err(
                    "api_key is for WAHA servers; Wawp uses instance_id and access_token",
                ));
            }
            ClientConfig::wawp(text(o.instance_id).unwrap_or_default(), text(o.access_token).unwrap_or_default())
        }
        Backend::Waha => {
            if o.instance_id.is_some() || o.access_token.is_some() {
                return Err(PyValueError::new_err(
                    "instance_id and access_token are for Wawp; a WAHA server takes api_key",
                ));
            }
            let url = base_url.clone().ok_or_else(|| PyValueError::new_err("a WAHA client needs base_url"))?;
            ClientConfig::waha(url, session.clone().unwrap_or_else(|| DEFAULT_SESSION.into()), text(o.api_key))
        }
    };
    if let Some(url) = base_url {
        config.base_url = url;
    }
    if let Some(session) = session {
        config.session = session;
    }
    config.timeout = seconds("timeout", o.timeout)?;
    if let Some(n) = &o.max_retries {
        config.max_retries = u32::try_from(int_in(n, "max_retries", 0, 100)?).unwrap_or(0);
    }
    if let Some(n) = &o.max_connections {
        let most = i64::try_from(MAX_MAX_CONNECTIONS).unwrap_or(i64::MAX);
        config.max_connections = usize::try_from(int_in(n, "max_connections", 1, most)?).unwrap_or(1);
    }
    config.rate_limit = o.rate_limit;
    if let Some(ua) = o.user_agent {
        config.user_agent = ua.0;
    }
    Ok(config)
}
