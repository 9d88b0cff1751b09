# Local state. Point it elsewhere at init time, e.g.
#   terraform init -backend-config=path=/var/lib/conveyor/terraform/terraform.tfstate \
#                  -backend-config=workspace_dir=/var/lib/conveyor/terraform/workspaces
# (conveyor.cicd.provision: backend_config). Other backends (s3, pg, ...) replace this block.
terraform {
  backend "local" {}
}
