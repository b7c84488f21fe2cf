//! Every command fails with berth-core's `ApiError`, which crosses to the UI as `{code, message}`.

use berth_core::ApiError;
use berth_engine::EngineError;

/// `?`-friendly conversion of engine results into what a command returns.
pub trait ToApi<T> {
    fn to_api(self) -> Result<T, ApiError>;
}

impl<T> ToApi<T> for Result<T, EngineError> {
    fn to_api(self) -> Result<T, ApiError> {
        self.map_err(|e| ApiError::from_error(e.code(), &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::ErrorCode;

    #[test]
    fn engine_errors_keep_their_code_and_message() {
        let r: Result<(), EngineError> = Err(EngineError::NotFound {
            message: "No such container: web".into(),
        });
        let e = r.to_api().unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "not_found", "message": "Not found: No such container: web"})
        );
    }
}
