//! Path and method to a route. Ids in paths are only ever compared with
//! names and keys the gateway holds: they never reach the filesystem.

use http::Method;

use crate::Error;

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    Health,
    Info,
    Metrics,
    ListPlugins,
    Reload,
    Execute(&'a str),
    ListPipelines,
    CreatePipeline,
    GetPipeline(&'a str),
    AddStep(&'a str),
    RemoveStep(&'a str, &'a str),
    Activate(&'a str),
    Archive(&'a str),
    ExecutePipeline(&'a str),
    ListExecutions(&'a str),
    Cluster,
    PublishEvent,
    DeadLetters,
    ListSubscriptions,
    Subscribe,
    Unsubscribe(&'a str),
}

/// Resolves `method path`; 404 for an unknown path, 405 (with the methods
/// the path accepts) for a known path with another method.
pub fn route<'a>(method: &Method, path: &'a str) -> Result<Route<'a>, Error> {
    const MAX_SEGMENTS: usize = 6;
    let not_found = || Error::RouteNotFound(path.to_owned());
    let mut segments = [""; MAX_SEGMENTS];
    let mut count = 0;
    for segment in path.strip_prefix('/').ok_or_else(not_found)?.split('/') {
        *segments.get_mut(count).ok_or_else(not_found)? = segment;
        count += 1;
    }
    let get = method == Method::GET;
    let post = method == Method::POST;
    let (route, allow) = match &segments[..count] {
        ["health"] => (get.then_some(Route::Health), "GET"),
        ["info"] => (get.then_some(Route::Info), "GET"),
        ["metrics"] => (get.then_some(Route::Metrics), "GET"),
        ["plugins"] => (get.then_some(Route::ListPlugins), "GET"),
        ["plugins", "reload"] => (post.then_some(Route::Reload), "POST"),
        ["plugins", id, "execute"] if !id.is_empty() => (post.then_some(Route::Execute(id)), "POST"),
        ["pipelines"] => {
            let route = if get {
                Some(Route::ListPipelines)
            } else {
                post.then_some(Route::CreatePipeline)
            };
            (route, "GET, POST")
        }
        ["pipelines", id] if !id.is_empty() => (get.then_some(Route::GetPipeline(id)), "GET"),
        ["pipelines", id, "steps"] if !id.is_empty() => (post.then_some(Route::AddStep(id)), "POST"),
        ["pipelines", id, "steps", index] if !id.is_empty() => (
            (method == Method::DELETE).then_some(Route::RemoveStep(id, index)),
            "DELETE",
        ),
        ["pipelines", id, "activate"] if !id.is_empty() => (post.then_some(Route::Activate(id)), "POST"),
        ["pipelines", id, "archive"] if !id.is_empty() => (post.then_some(Route::Archive(id)), "POST"),
        ["pipelines", id, "execute"] if !id.is_empty() => (post.then_some(Route::ExecutePipeline(id)), "POST"),
        ["pipelines", id, "executions"] if !id.is_empty() => (get.then_some(Route::ListExecutions(id)), "GET"),
        ["cluster"] => (get.then_some(Route::Cluster), "GET"),
        ["events"] => (post.then_some(Route::PublishEvent), "POST"),
        ["events", "dead"] => (get.then_some(Route::DeadLetters), "GET"),
        ["subscriptions"] => {
            let route = if get {
                Some(Route::ListSubscriptions)
            } else {
                post.then_some(Route::Subscribe)
            };
            (route, "GET, POST")
        }
        ["subscriptions", id] if !id.is_empty() => {
            ((method == Method::DELETE).then_some(Route::Unsubscribe(id)), "DELETE")
        }
        _ => return Err(not_found()),
    };
    route.ok_or(Error::MethodNotAllowed { allow })
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
        assert_eq!(route(&Method::POST, "/plugins/reload").unwrap(), Route::Reload);
        assert_eq!(route(&Method::GET, "/plugins").unwrap(), Route::ListPlugins);
        assert_eq!(route(&Method::POST, "/pipelines").unwrap(), Route::CreatePipeline);
        assert_eq!(
            route(&Method::DELETE, "/pipelines/p/steps/2").unwrap(),
            Route::RemoveStep("p", "2")
        );
        assert_eq!(
            route(&Method::GET, "/pipelines/p/executions").unwrap(),
            Route::ListExecutions("p")
        );
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        assert!(matches!(route(&Method::GET, "/nope"), Err(Error::RouteNotFound(_))));
        assert!(matches!(route(&Method::GET, "/health/"), Err(Error::RouteNotFound(_))));
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
        assert!(matches!(
            route(&Method::PUT, "/pipelines"),
            Err(Error::MethodNotAllowed { allow: "GET, POST" })
        ));
    }

    #[test]
    fn every_route_is_in_the_openapi_document() {
        let doc = include_str!("../../openapi.yaml");
        let paths = [
            "/health",
            "/info",
            "/metrics",
            "/cluster",
            "/plugins",
            "/plugins/reload",
            "/plugins/{id}/execute",
            "/pipelines",
            "/pipelines/{id}",
            "/pipelines/{id}/steps",
            "/pipelines/{id}/steps/{index}",
            "/pipelines/{id}/activate",
            "/pipelines/{id}/archive",
            "/pipelines/{id}/execute",
            "/pipelines/{id}/executions",
            "/events",
            "/events/dead",
            "/subscriptions",
            "/subscriptions/{id}",
        ];
        for path in paths {
            assert!(
                doc.contains(&format!("\n  {path}:\n")),
                "{path} is missing from openapi.yaml"
            );
            let concrete = path.replace("{id}", "x").replace("{index}", "0");
            assert!(
                !matches!(route(&Method::GET, &concrete), Err(Error::RouteNotFound(_))),
                "{path} is not routed"
            );
        }
    }
}
