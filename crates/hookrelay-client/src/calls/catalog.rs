//! The event type catalog: admin key to change it, any key to read it.

use crate::models::{EventType, EventTypePatch, NewEventType};
use crate::operations::{
    CREATE_EVENT_TYPE, DELETE_EVENT_TYPE, GET_EVENT_TYPE, LIST_EVENT_TYPES, UPDATE_EVENT_TYPE,
};
use crate::page::Pages;
use crate::{Client, Error};

impl Client {
    /// Adds a type to the catalog (admin key).
    pub async fn create_event_type(&self, event_type: &NewEventType) -> Result<EventType, Error> {
        self.call(&CREATE_EVENT_TYPE, &[], &[], Some(event_type))
            .await
    }

    /// The catalog.
    pub fn list_event_types(&self) -> Pages<EventType> {
        Pages::new(self.clone(), &LIST_EVENT_TYPES, Vec::new(), Vec::new())
    }

    /// One catalog entry.
    pub async fn get_event_type(&self, name: &str) -> Result<EventType, Error> {
        self.call(&GET_EVENT_TYPE, &[name], &[], None).await
    }

    /// Changes a catalog entry (admin key).
    pub async fn update_event_type(
        &self,
        name: &str,
        patch: &EventTypePatch,
    ) -> Result<EventType, Error> {
        self.call(&UPDATE_EVENT_TYPE, &[name], &[], Some(patch))
            .await
    }

    /// Removes a catalog entry (admin key).
    pub async fn delete_event_type(&self, name: &str) -> Result<(), Error> {
        self.call(&DELETE_EVENT_TYPE, &[name], &[], None).await
    }
}
