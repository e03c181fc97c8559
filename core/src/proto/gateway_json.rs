//! Gateway INFO/CONNECT JSON (placeholder API until the gateway codec branch lands).

use serde::{Deserialize, Serialize};

/// Gateway INFO.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GatewayInfo {
    /// Server id.
    #[serde(default)]
    pub server_id: String,
    /// Server name.
    #[serde(default)]
    pub server_name: String,
    /// Version.
    #[serde(default)]
    pub version: String,
    /// Proto.
    #[serde(default)]
    pub proto: i32,
    /// Go.
    #[serde(default)]
    pub go: String,
    /// Host.
    #[serde(default)]
    pub host: String,
    /// Port.
    #[serde(default)]
    pub port: u16,
    /// Headers.
    #[serde(default)]
    pub headers: bool,
    /// Auth required.
    #[serde(default)]
    pub auth_required: bool,
    /// TLS.
    #[serde(default)]
    pub tls_required: bool,
    /// TLS verify.
    #[serde(default)]
    pub tls_verify: bool,
    /// Max payload.
    #[serde(default)]
    pub max_payload: i64,
    /// Gateway name.
    #[serde(default)]
    pub gateway: String,
    /// Gateway URLs.
    #[serde(default)]
    pub gateway_urls: Vec<String>,
    /// Own URL.
    #[serde(default)]
    pub gateway_url: String,
    /// NRP.
    #[serde(default)]
    pub gateway_nrp: bool,
    /// IOM.
    #[serde(default)]
    pub gateway_iom: bool,
    /// Cmd.
    #[serde(default)]
    pub gateway_cmd: u8,
    /// Cmd payload (decoded).
    #[serde(default)]
    pub gateway_cmd_payload: Vec<u8>,
}

impl GatewayInfo {
    /// Encode.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decode.
    pub fn from_json(json: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(json).map_err(|e| e.to_string())
    }
}

/// Gateway CONNECT.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GatewayConnect {
    /// Echo.
    #[serde(default)]
    pub echo: bool,
    /// Verbose.
    #[serde(default)]
    pub verbose: bool,
    /// Pedantic.
    #[serde(default)]
    pub pedantic: bool,
    /// User.
    #[serde(default)]
    pub user: Option<String>,
    /// Pass.
    #[serde(default)]
    pub pass: Option<String>,
    /// TLS.
    #[serde(default)]
    pub tls_required: bool,
    /// Headers.
    #[serde(default)]
    pub headers: bool,
    /// Name (server id).
    #[serde(default)]
    pub name: String,
    /// Cluster.
    #[serde(default)]
    pub cluster: String,
    /// Gateway.
    #[serde(default)]
    pub gateway: Option<String>,
}

impl GatewayConnect {
    /// Encode.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decode.
    pub fn from_json(json: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(json).map_err(|e| e.to_string())
    }
}
