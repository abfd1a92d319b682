//! go-plugin's own services beside the provider.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::Notify;
use tonic::{Request, Response, Status, Streaming};

use crate::proto::plugin as pb;
use pb::grpc_broker_server::{GrpcBroker, GrpcBrokerServer};
use pb::grpc_controller_server::{GrpcController, GrpcControllerServer};
use pb::grpc_stdio_server::{GrpcStdio, GrpcStdioServer};

pub struct Controller(Arc<Notify>);

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _req: Request<pb::Empty>) -> Result<Response<pb::Empty>, Status> {
        tracing::debug!("Terraform asked the plugin to shut down");
        self.0.notify_one();
        Ok(Response::new(pb::Empty {}))
    }
}

pub fn controller(shutdown: Arc<Notify>) -> GrpcControllerServer<Controller> {
    GrpcControllerServer::new(Controller(shutdown))
}

type Idle<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

pub struct Stdio;

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = Idle<pb::StdioData>;
    async fn stream_stdio(&self, _req: Request<pb::Empty>) -> Result<Response<Self::StreamStdioStream>, Status> {
        // Logs go to stderr directly; the stream stays open with nothing in it.
        Ok(Response::new(Box::pin(futures::stream::pending())))
    }
}

pub fn stdio() -> GrpcStdioServer<Stdio> {
    GrpcStdioServer::new(Stdio)
}

pub struct Broker;

#[tonic::async_trait]
impl GrpcBroker for Broker {
    type StartStreamStream = Idle<pb::ConnInfo>;
    async fn start_stream(&self, req: Request<Streaming<pb::ConnInfo>>) -> Result<Response<Self::StartStreamStream>, Status> {
        // No feature uses the broker: drain what the host sends so its
        // side never blocks, and answer nothing.
        let mut inbound = req.into_inner();
        tokio::spawn(async move { while let Ok(Some(_)) = inbound.message().await {} });
        Ok(Response::new(Box::pin(futures::stream::pending())))
    }
}

pub fn broker() -> GrpcBrokerServer<Broker> {
    GrpcBrokerServer::new(Broker)
}
