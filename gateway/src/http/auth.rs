//! Bearer tokens: with none configured every route is open; with any
//! configured, invoking needs an invoke or admin token and administering
//! needs an admin token. Tokens are compared in constant time and never logged.

use flexcore_infra::Secret;
use http::HeaderMap;

use crate::Error;
use crate::config::AuthConfig;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Invoke,
    Admin,
}

#[derive(Debug, Clone, Default)]
pub struct Auth {
    invoke: Vec<Secret>,
    admin: Vec<Secret>,
}

impl Auth {
    pub fn new(config: &AuthConfig) -> Self {
        Self {
            invoke: config.invoke_tokens.clone(),
            admin: config.admin_tokens.clone(),
        }
    }

    fn enabled(&self) -> bool {
        !self.invoke.is_empty() || !self.admin.is_empty()
    }

    /// Ok when the request's `Authorization: Bearer` token grants `scope`.
    pub fn require(&self, headers: &HeaderMap, scope: Scope) -> Result<(), Error> {
        if !self.enabled() {
            return Ok(());
        }
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .ok_or(Error::Unauthorized)?;
        let matches = |tokens: &[Secret]| tokens.iter().any(|t| t.matches(token));
        let granted = match scope {
            Scope::Invoke => matches(&self.invoke) || matches(&self.admin),
            Scope::Admin => matches(&self.admin),
        };
        if granted { Ok(()) } else { Err(Error::Unauthorized) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        h
    }

    #[test]
    fn scopes() {
        let auth = Auth::new(&AuthConfig {
            invoke_tokens: vec![Secret::new("invoke-token")],
            admin_tokens: vec![Secret::new("admin-token")],
        });
        assert!(auth.require(&headers("invoke-token"), Scope::Invoke).is_ok());
        assert!(auth.require(&headers("admin-token"), Scope::Invoke).is_ok());
        assert!(auth.require(&headers("admin-token"), Scope::Admin).is_ok());
        assert!(auth.require(&headers("invoke-token"), Scope::Admin).is_err());
        assert!(auth.require(&headers("wrong"), Scope::Invoke).is_err());
        assert!(auth.require(&HeaderMap::new(), Scope::Invoke).is_err());
        assert!(Auth::default().require(&HeaderMap::new(), Scope::Admin).is_ok());
    }
}
