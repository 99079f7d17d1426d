"""Infrastructure as code: the AWS stack as a CloudFormation template built in Python."""
