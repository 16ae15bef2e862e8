//! Path and method to a route. Plugin ids are only ever compared with the
//! registry's names: they never reach the filesystem.

use http::Method;

use crate::Error;

/// A resource the gateway serves, with what the path named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    Health,
    Info,
    Metrics,
    Plugins,
    Reload,
    Execute(&'a str),
}

/// A resource and a method it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    Health,
    Info,
    Metrics,
    ListPlugins,
    Reload,
    Execute(&'a str),
}

/// Resolves `method path`; 404 for an unknown path, 405 for a known path
/// with another method.
pub fn route<'a>(method: &Method, path: &'a str) -> Result<Route<'a>, Error> {
    let resource = resource(path).ok_or_else(|| Error::RouteNotFound(path.to_owned()))?;
    let route = match (resource, method) {
        (Resource::Health, &Method::GET) => Route::Health,
        (Resource::Info, &Method::GET) => Route::Info,
        (Resource::Metrics, &Method::GET) => Route::Metrics,
        (Resource::Plugins, &Method::GET) => Route::ListPlugins,
        (Resource::Reload, &Method::POST) => Route::Reload,
        (Resource::Execute(id), &Method::POST) => Route::Execute(id),
        (Resource::Health | Resource::Info | Resource::Metrics | Resource::Plugins, _) => {
            return Err(Error::MethodNotAllowed { allow: "GET" });
        }
        (Resource::Reload | Resource::Execute(_), _) => {
            return Err(Error::MethodNotAllowed { allow: "POST" });
        }
    };
    Ok(route)
}

fn resource(path: &str) -> Option<Resource<'_>> {
    const MAX_SEGMENTS: usize = 6;
    let mut segments = [""; MAX_SEGMENTS];
    let mut count = 0;
    for segment in path.strip_prefix('/')?.split('/') {
        *segments.get_mut(count)? = segment;
        count += 1;
    }
    Some(match &segments[..count] {
        ["health"] => Resource::Health,
        ["info"] => Resource::Info,
        ["metrics"] => Resource::Metrics,
        ["plugins"] => Resource::Plugins,
        ["plugins", "reload"] => Resource::Reload,
        ["plugins", id, "execute"] if !id.is_empty() => Resource::Execute(id),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_resolve() {
        assert_eq!(route(&Method::GET, "/health").unwrap(), Route::Health);
        assert_eq!(
            route(&Method::POST, "/plugins/echo/execute").unwrap(),
            Route::Execute("echo")
        );
        assert_eq!(
            route(&Method::POST, "/plugins/reload").unwrap(),
            Route::Reload
        );
        assert_eq!(route(&Method::GET, "/plugins").unwrap(), Route::ListPlugins);
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        assert!(matches!(
            route(&Method::GET, "/nope"),
            Err(Error::RouteNotFound(_))
        ));
        assert!(matches!(
            route(&Method::GET, "/health/"),
            Err(Error::RouteNotFound(_))
        ));
        assert!(matches!(
            route(&Method::POST, "/plugins/a/b/execute"),
            Err(Error::RouteNotFound(_))
        ));
        assert!(matches!(
            route(&Method::POST, "/plugins//execute"),
            Err(Error::RouteNotFound(_))
        ));
        assert!(matches!(
            route(&Method::POST, &"/x".repeat(10)),
            Err(Error::RouteNotFound(_))
        ));
        assert!(matches!(
            route(&Method::GET, "/plugins/echo/execute"),
            Err(Error::MethodNotAllowed { allow: "POST" })
        ));
        assert!(matches!(
            route(&Method::DELETE, "/health"),
            Err(Error::MethodNotAllowed { allow: "GET" })
        ));
    }
}
