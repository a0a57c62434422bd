"""The stand-in serves only what the real service could answer (botocore's output shapes and error shapes)."""

from __future__ import annotations

import pytest

from tests.support.aws import StandIn


def test_an_answer_outside_the_operations_output_shape_is_refused():
    fake = StandIn()
    with pytest.raises(AssertionError, match="imageScanStatus"):
        fake.answer(
            "ecr", "DescribeImageScanFindings", {"imageScanStatus": "COMPLETE"}
        )  # a string, not a structure
    with pytest.raises(AssertionError, match="Unknown parameter"):
        fake.answer("lambda", "GetAlias", {"Name": "live", "Version": "3"})  # GetAlias says FunctionVersion
    fake.answer("lambda", "GetAlias", {"Name": "live", "FunctionVersion": "3"})


def test_an_error_code_the_operation_never_answers_is_refused():
    fake = StandIn()
    with pytest.raises(AssertionError, match="never answers ImageAlreadyExistsException"):
        fake.fail("ecr", "DescribeImages", "ImageAlreadyExistsException", "a PutImage error")
    fake.fail("ecr", "PutImage", "ImageTagAlreadyExistsException", "modeled")
    fake.fail("codedeploy", "GetDeployment", "ExpiredTokenException", "common to every AWS API")
