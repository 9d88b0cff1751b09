# Built-in resources only (terraform_data, local-exec): no provider is downloaded, so this
# configuration plans and applies offline with Terraform 1.4+ or OpenTofu.
terraform {
  required_version = ">= 1.4"
}
