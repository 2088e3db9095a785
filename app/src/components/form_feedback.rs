//! Inline messages under form fields, and a banner for errors that belong to no field.

use leptos::prelude::*;

use crate::error::AppError;

/// The message for `field`, when the last submission failed because of it.
#[component]
pub fn FieldMessage(
    #[prop(into)] error: Signal<Option<AppError>>,
    field: &'static str,
) -> impl IntoView {
    move || {
        error.get().and_then(|e| e.message_for(field)).map(
            |message| view! { <p class="field-error" role="alert" data-field=field>{message}</p> },
        )
    }
}

/// Errors that name no field (permissions, outages), shown once above the form.
#[component]
pub fn FormMessage(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|e| !matches!(e, AppError::Validation(_) | AppError::Conflict { .. }))
            .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
    }
}

/// The error of an action's last result, if it failed.
pub fn last_error<T, S>(value: S) -> Signal<Option<AppError>>
where
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || value.get().and_then(|result| result.err()))
}

/// Clears `form` after each successful submission of `action`, ready for the next entry.
pub fn reset_on_success<T, S>(value: S, form: NodeRef<leptos::html::Form>)
where
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if matches!(value.get(), Some(Ok(_))) {
            if let Some(form) = form.get() {
                form.reset();
            }
        }
    });
}
