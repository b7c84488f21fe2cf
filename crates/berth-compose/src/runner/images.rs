//! Images of a project's services: found, pulled or built as each pull policy says.

use futures_util::StreamExt;

use berth_engine::BuildOptions;

use super::{is_not_found, Compose, Event, ResourceState};
use crate::error::{Error, Result};
use crate::model::{Project, Service};
use crate::plan::labels;

impl Compose {
    /// The engine's id (`sha256:...`) of `image`, if it has it.
    async fn image_id(&self, image: &str) -> Result<Option<String>> {
        match self.engine.inspect_image(image).await {
            Ok(info) => Ok(Some(info.id.unwrap_or_default())),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(Error::engine(format!("inspecting image {image}"))(e)),
        }
    }

    /// Builds, pulls or finds `s`'s image as its pull policy says; returns the image's id.
    pub(super) async fn ensure_image(
        &self,
        project: &Project,
        s: &Service,
        force_build: bool,
    ) -> Result<Option<String>> {
        let image = s.image_name(&project.name);
        let policy = s.pull_policy.as_deref().unwrap_or("missing");
        if s.build.is_some() && (force_build || policy == "build") {
            self.build_service(project, s).await?;
            return self.image_id(&image).await;
        }
        let id = self.image_id(&image).await?;
        if policy == "always" || (id.is_none() && policy != "never") {
            if s.build.is_some() && id.is_none() {
                self.build_service(project, s).await?;
            } else {
                self.pull_image(&image).await?;
            }
            return self.image_id(&image).await;
        }
        if id.is_none() {
            return Err(Error::service(
                &s.name,
                format!("image {image} is not present and pull_policy is {policy}"),
            ));
        }
        Ok(id)
    }

    /// Pulls one image, reporting Pulling/Pulled.
    pub async fn pull_image(&self, image: &str) -> Result<()> {
        self.emit(Event::Image {
            name: image.to_string(),
            status: ResourceState::Pulling,
        });
        let auth = match &self.credentials {
            Some(find) => find(image.to_string()).await,
            None => None,
        };
        let mut stream = Box::pin(self.engine.pull_image(image, auth.as_ref()));
        while let Some(item) = stream.next().await {
            // Kept as the engine's error, so `unauthorized` reaches the dashboard as such.
            item?;
        }
        self.emit(Event::Image {
            name: image.to_string(),
            status: ResourceState::Pulled,
        });
        Ok(())
    }

    /// Builds a service's image (`<project>-<service>` unless `image` is set).
    pub async fn build_service(&self, project: &Project, s: &Service) -> Result<()> {
        let Some(build) = &s.build else {
            return Ok(());
        };
        if build.dockerfile_inline.is_some() {
            return Err(Error::service(
                &s.name,
                "build.dockerfile_inline is not supported by berth yet",
            ));
        }
        let image = s.image_name(&project.name);
        self.emit(Event::Image {
            name: image.clone(),
            status: ResourceState::Building,
        });
        let mut l = build.labels.clone();
        l.insert(labels::PROJECT.into(), project.name.clone());
        l.insert(labels::SERVICE.into(), s.name.clone());
        l.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
        let options = BuildOptions {
            dockerfile: build
                .dockerfile
                .clone()
                .unwrap_or_else(|| "Dockerfile".into()),
            tag: Some(image.clone()),
            build_args: build
                .args
                .iter()
                .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
                .collect(),
            labels: l,
            no_cache: build.no_cache,
            pull: build.pull,
            target: build.target.clone(),
            network: build.network.clone(),
            shm_size: build
                .shm_size
                .as_deref()
                .and_then(crate::decode::parse_bytes),
            cache_from: build.cache_from.clone(),
            platform: build.platforms.first().cloned(),
        };
        let mut stream = Box::pin(
            self.engine
                .build_image(std::path::Path::new(&build.context), &options)
                .await
                .map_err(|e| Error::service(&s.name, format!("build failed: {e}")))?,
        );
        while let Some(item) = stream.next().await {
            item.map_err(|e| Error::service(&s.name, format!("build failed: {e}")))?;
        }
        for tag in &build.tags {
            self.engine
                .tag_image(&image, tag)
                .await
                .map_err(Error::engine(format!("tagging {image} as {tag}")))?;
        }
        self.emit(Event::Image {
            name: image,
            status: ResourceState::Built,
        });
        Ok(())
    }
}
