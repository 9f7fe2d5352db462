//! stub
use crate::{Connection, Driver, DriverError, DriverKind, Snapshot};
use bytes::Bytes;
pub struct OctoPrint;
impl OctoPrint {
    pub fn new(_c: Connection) -> Result<Self, DriverError> {
        Err(DriverError::Config("stub".into()))
    }
}
impl Driver for OctoPrint {
    fn kind(&self) -> DriverKind {
        DriverKind::Simulated
    }
    async fn connect(&self) -> Result<Snapshot, DriverError> {
        Err(DriverError::Config("stub".into()))
    }
    async fn snapshot(&self) -> Result<Snapshot, DriverError> {
        Err(DriverError::Config("stub".into()))
    }
    async fn changed(&self) {}
    async fn upload(&self, _n: &str, _g: Bytes) -> Result<(), DriverError> {
        Ok(())
    }
    async fn start(&self, _n: &str) -> Result<(), DriverError> {
        Ok(())
    }
    async fn pause(&self) -> Result<(), DriverError> {
        Ok(())
    }
    async fn resume(&self) -> Result<(), DriverError> {
        Ok(())
    }
    async fn cancel(&self) -> Result<(), DriverError> {
        Ok(())
    }
    async fn emergency_stop(&self) -> Result<(), DriverError> {
        Ok(())
    }
    async fn send_gcode(&self, _l: &[String]) -> Result<(), DriverError> {
        Ok(())
    }
    async fn preheat(&self, _t: Option<f64>, _b: Option<f64>) -> Result<(), DriverError> {
        Ok(())
    }
}
