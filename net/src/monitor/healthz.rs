//! `/healthz`: nats-server 2.15.1's `HealthStatus` as its HTTP handler prints it (compact JSON,
//! `status_code` moved into the HTTP status).

use serde::{Serialize, Serializer};

/// The `/healthz` response: `{"status":"ok"}`, or an error form such as
/// `{"status":"error","error":"…"}` (or, with `details=true`, `{"status":"error","errors":[…]}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Healthz {
    /// `"ok"`, `"error"`, or `"unavailable"`.
    pub status: String,
    /// The HTTP status to answer with (200 when healthy); not part of the body.
    #[serde(skip)]
    pub status_code: u16,
    /// The problem, in the non-detailed form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The problems, in the detailed form (`details=true`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<HealthzError>,
    /// The kind of `error`, used when it is turned into the detailed form.
    #[serde(skip)]
    pub error_type: HealthzErrorType,
}

impl Healthz {
    /// Healthy: `{"status":"ok"}` with HTTP 200.
    pub fn ok() -> Self {
        Self {
            status: "ok".to_owned(),
            status_code: 200,
            error: None,
            errors: Vec::new(),
            error_type: HealthzErrorType::Connection,
        }
    }

    /// Unhealthy: `{"status":"error","error":message}` with `status_code` (nats-server uses 500
    /// when the server is not ready for connections, 503 for unavailable subsystems).
    pub fn error(
        status_code: u16,
        error_type: HealthzErrorType,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status: "error".to_owned(),
            status_code,
            error: Some(message.into()),
            errors: Vec::new(),
            error_type,
        }
    }

    /// The form `details=true` asks for: `error` becomes one typed entry of `errors`, and
    /// `status` is `"error"` if there are errors, else `"ok"`.
    pub fn into_details(mut self) -> Self {
        if let Some(message) = self.error.take() {
            self.errors.push(HealthzError {
                error_type: self.error_type,
                error: message,
                ..HealthzError::default()
            });
        }
        self.status = if self.errors.is_empty() { "ok" } else { "error" }.to_owned();
        self
    }
}

/// One entry of `errors` in the detailed form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HealthzError {
    /// What failed.
    #[serde(rename = "type")]
    pub error_type: HealthzErrorType,
    /// The account concerned.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    /// The stream concerned.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stream: String,
    /// The consumer concerned.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub consumer: String,
    /// The message.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// nats-server's `HealthZErrorType`, printed as its upper-case name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HealthzErrorType {
    /// `CONNECTION`: not ready for connections (listeners not up).
    #[default]
    Connection,
    /// `BAD_REQUEST`: contradictory query parameters.
    BadRequest,
    /// `JETSTREAM`.
    JetStream,
    /// `ACCOUNT`.
    Account,
    /// `STREAM`.
    Stream,
    /// `CONSUMER`.
    Consumer,
}

impl HealthzErrorType {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "CONNECTION",
            Self::BadRequest => "BAD_REQUEST",
            Self::JetStream => "JETSTREAM",
            Self::Account => "ACCOUNT",
            Self::Stream => "STREAM",
            Self::Consumer => "CONSUMER",
        }
    }
}

impl Serialize for HealthzErrorType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::format::to_go_json;

    fn json(h: &Healthz) -> String {
        String::from_utf8(to_go_json(h, false)).unwrap()
    }

    #[test]
    fn healthz_forms_match_nats_server() {
        assert_eq!(json(&Healthz::ok()), r#"{"status":"ok"}"#);
        assert_eq!(json(&Healthz::ok().into_details()), r#"{"status":"ok"}"#);
        // Both bodies verbatim from nats-server 2.15.1 `/healthz?stream=x` (HTTP 400).
        let bad = Healthz::error(
            400,
            HealthzErrorType::BadRequest,
            "\"account\" must not be empty when checking stream health",
        );
        assert_eq!(
            json(&bad),
            r#"{"status":"error","error":"\"account\" must not be empty when checking stream health"}"#
        );
        assert_eq!(
            json(&bad.into_details()),
            r#"{"status":"error","errors":[{"type":"BAD_REQUEST","error":"\"account\" must not be empty when checking stream health"}]}"#
        );
    }
}
